"""Fixtures for the LLM client tests: the fake OpenAI server and clients pointed at it."""
from __future__ import annotations

import shutil
import subprocess
import time
from typing import Iterator

import pytest

from bot.llm import LLMSettings
from tests.fake_openai import FakeOpenAI

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI-compatible server on loopback (``.base_url``, ``.script()``, ``.requests``)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm_settings(fake_llm: FakeOpenAI) -> LLMSettings:
    """Settings aimed at the fake server with test-sized timeouts and backoff."""
    return LLMSettings(
        api_key="test-key",
        base_url=fake_llm.base_url,
        timeout_s=0.3,
        max_retries=2,
        backoff_base_s=0.01,
        breaker_failures=3,
        breaker_reset_s=30.0,
    )


def _redis_ping() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis (db 15), started if needed; the test is skipped only if it cannot start."""
    if not _redis_ping():
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed")
        subprocess.run(
            [server, "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
             "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
            check=False, capture_output=True, timeout=10,
        )
        deadline = time.monotonic() + 5
        while not _redis_ping():
            if time.monotonic() > deadline:
                pytest.skip("Redis could not be started")
            time.sleep(0.1)
    return REDIS_TEST_URL

