"""Fixtures for the LLM client tests: the fake OpenAI server and clients pointed at it."""
from __future__ import annotations

from typing import Iterator

import pytest

from bot.llm import LLMSettings
from tests.fake_openai import FakeOpenAI


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI-compatible server on loopback (``.base_url``, ``.script()``, ``.requests``)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm_settings(fake_llm: FakeOpenAI) -> LLMSettings:
    """Settings aimed at the fake server with test-sized backoff.

    The timeout is generous so that a busy machine never turns an expected 500 or 429 into a
    timeout; the tests about timeouts set their own short one (``SHORT_TIMEOUT_S``).
    """
    return LLMSettings(
        api_key="test-key",
        base_url=fake_llm.base_url,
        timeout_s=2.0,
        max_retries=2,
        backoff_base_s=0.01,
        breaker_failures=3,
        breaker_reset_s=30.0,
    )

