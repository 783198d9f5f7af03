"""LLMSettings.from_env and the verdict caches."""
from __future__ import annotations

import dataclasses
import logging
import threading
import uuid

import pytest

from bot.llm import InMemoryCache, LLMSettings, RedisCache, VerdictCache, cache_key, make_cache


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- settings ----------------------------------------------------------------------


def test_from_env_reads_the_documented_variables() -> None:
    settings = LLMSettings.from_env(
        {
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1",
            "LLM_FAST_MODEL": "llama3.1:8b",
            "LLM_STRONG_MODEL": "llama3.1:70b",
            "LLM_TIMEOUT_S": "1.5",
        }
    )
    assert settings.api_key == "sk-test"
    assert settings.base_url == "http://127.0.0.1:11434/v1"
    assert settings.fast_model == "llama3.1:8b"
    assert settings.strong_model == "llama3.1:70b"
    assert settings.timeout_s == 1.5
    assert settings.configured


def test_from_env_defaults_and_not_configured() -> None:
    settings = LLMSettings.from_env({})
    assert settings.api_key is None and settings.base_url is None
    assert (settings.fast_model, settings.strong_model) == ("gpt-4o-mini", "gpt-4o")
    assert (settings.timeout_s, settings.max_retries, settings.backoff_base_s) == (3.0, 2, 0.2)
    assert (settings.breaker_failures, settings.breaker_reset_s) == (5, 30.0)
    assert not settings.configured


def test_empty_variables_count_as_unset() -> None:
    assert not LLMSettings.from_env({"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}).configured


def test_base_url_alone_is_configured() -> None:
    assert LLMSettings.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}).configured


def test_overrides_win_over_the_environment() -> None:
    settings = LLMSettings.from_env({"LLM_TIMEOUT_S": "9", "OPENAI_API_KEY": "k"}, timeout_s=0.5, max_retries=0)
    assert settings.timeout_s == 0.5 and settings.max_retries == 0 and settings.api_key == "k"


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_bad_timeout_is_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="LLM_TIMEOUT_S"):
        LLMSettings.from_env({"LLM_TIMEOUT_S": value})


def test_from_env_uses_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_FAST_MODEL", "from-os-environ")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert LLMSettings.from_env().fast_model == "from-os-environ"


def test_settings_are_frozen_and_price_unknown_models_at_zero() -> None:
    settings = LLMSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.timeout_s = 10  # type: ignore[misc]
    assert settings.cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.50)
    assert settings.cost_usd("no-such-model", 1_000_000, 1_000_000) == 0.0


# -- cache key ---------------------------------------------------------------------


def test_cache_key_normalises_case_and_whitespace() -> None:
    a = cache_key("m", [{"role": "user", "content": "Where is  my\norder?"}])
    b = cache_key("m", [{"role": "user", "content": "  where IS my order?  "}])
    assert a == b and len(a) == 64


def test_cache_key_depends_on_model_role_and_message_boundaries() -> None:
    base = cache_key("m", [{"role": "user", "content": "a b"}])
    assert cache_key("other", [{"role": "user", "content": "a b"}]) != base
    assert cache_key("m", [{"role": "system", "content": "a b"}]) != base
    assert cache_key("m", [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]) != base


# -- in-memory cache ---------------------------------------------------------------


def test_in_memory_cache_expires_entries() -> None:
    clock = FakeClock()
    cache = InMemoryCache(clock=clock)
    cache.set("k", {"v": 1}, ttl_s=10)
    clock.now = 9.9
    assert cache.get("k") == {"v": 1}
    clock.now = 10.0
    assert cache.get("k") is None
    assert len(cache) == 0


def test_in_memory_cache_evicts_least_recently_used() -> None:
    cache = InMemoryCache(max_entries=2)
    cache.set("a", {"v": "a"}, 60)
    cache.set("b", {"v": "b"}, 60)
    assert cache.get("a") == {"v": "a"}  # a is now more recent than b
    cache.set("c", {"v": "c"}, 60)
    assert cache.get("b") is None
    assert cache.get("a") == {"v": "a"} and cache.get("c") == {"v": "c"}


def test_in_memory_cache_returns_copies() -> None:
    cache = InMemoryCache()
    cache.set("k", {"v": [1]}, 60)
    cache.get("k")["v"].append(2)  # type: ignore[index]
    assert cache.get("k") == {"v": [1]}


def test_in_memory_cache_is_thread_safe() -> None:
    cache = InMemoryCache(max_entries=50)

    def worker(n: int) -> None:
        for i in range(500):
            cache.set(f"{n}-{i}", {"i": i}, 60)
            cache.get(f"{n}-{i - 1}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50


def test_make_cache_picks_the_backend(redis_url: str) -> None:
    assert isinstance(make_cache(None), InMemoryCache)
    assert isinstance(make_cache(redis_url), RedisCache)
    assert isinstance(make_cache(None), VerdictCache)


# -- redis cache -------------------------------------------------------------------


def test_redis_cache_round_trip_with_ttl(redis_url: str) -> None:
    import redis

    prefix = f"brightbay:llm:test:{uuid.uuid4().hex}:"
    cache = RedisCache(redis_url, prefix=prefix)
    assert cache.get("k") is None
    cache.set("k", {"intent": "greet", "confidence": 0.9}, ttl_s=30)
    assert cache.get("k") == {"intent": "greet", "confidence": 0.9}
    raw = redis.Redis.from_url(redis_url)
    assert 0 < raw.pttl(prefix + "k") <= 30_000
    raw.set(prefix + "garbage", b"not json")
    assert cache.get("garbage") is None
    raw.delete(prefix + "k", prefix + "garbage")


def test_redis_errors_are_cache_misses_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    from tests.servers import free_port

    clock = FakeClock()
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", clock=clock, retry_after_s=30)
    with caplog.at_level(logging.WARNING, logger="bot.llm.cache"):
        assert cache.get("k") is None
        cache.set("k", {"v": 1}, 60)
        clock.now = 31
        assert cache.get("k") is None
    warnings = [r for r in caplog.records if r.name == "bot.llm.cache"]
    assert len(warnings) == 1
