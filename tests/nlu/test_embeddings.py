"""The shared encoder's thread settings: one thread when serving, every core while training."""
from __future__ import annotations

import pytest
import torch

from bot.nlu.embeddings import load_encoder, training_threads, usable_cores


def test_training_uses_every_core_then_restores_the_serving_setting() -> None:
    load_encoder()
    serving = torch.get_num_threads()
    with training_threads():
        assert torch.get_num_threads() == usable_cores()
    assert torch.get_num_threads() == serving
    with pytest.raises(RuntimeError):
        with training_threads():
            raise RuntimeError("training failed")
    assert torch.get_num_threads() == serving
