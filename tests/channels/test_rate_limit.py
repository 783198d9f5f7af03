"""The per-conversation message rate limit: parsing, the in-process and Redis counters, and a REST
conversation over its rate against the real servers."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
import redis
import requests

from bot.channels.rate_limit import (
    REDIS_KEY_PREFIX,
    SLOW_DOWN_TEXT,
    InProcessCounter,
    RateLimit,
    RateLimitConfigError,
    RedisCounter,
)
from tests.servers import assistant_servers


def run(coroutine):
    return asyncio.run(coroutine)


def test_the_setting_is_parsed_and_bad_values_are_refused_with_the_value() -> None:
    assert RateLimit.parse("20/60") == RateLimit(20, 60.0)
    assert RateLimit.parse(" 5 / 1.5 ") == RateLimit(5, 1.5)
    assert RateLimit.parse("off") is None
    for bad in ("twenty", "0/60", "5/0", "5 per minute"):
        with pytest.raises(RateLimitConfigError, match=repr(bad).replace("/", "/")):
            RateLimit.parse(bad)


def test_in_process_window_per_conversation() -> None:
    counter = InProcessCounter(RateLimit(3, 10.0))

    async def scenario():
        first = [await counter.allow("a", now=t) for t in (0.0, 1.0, 2.0, 3.0)]
        other = await counter.allow("b", now=3.0)
        refused_again = await counter.allow("a", now=9.0)  # the refused one at 3.0 did not count...
        after_window = await counter.allow("a", now=10.5)  # ...and the one at 0.0 has left the window
        return first, other, refused_again, after_window

    assert run(scenario()) == ([True, True, True, False], True, False, True)


def test_in_process_table_forgets_silent_conversations() -> None:
    counter = InProcessCounter(RateLimit(1, 1.0), max_conversations=2)

    async def scenario():
        for n, t in enumerate((0.0, 0.1, 5.0)):
            await counter.allow(f"c{n}", now=t)
        return await counter.allow("c0", now=5.1)  # c0 was dropped (silent for a window), not remembered

    assert run(scenario()) is True
    assert len(counter._times) <= 2


def test_redis_counts_are_shared_by_every_instance(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete(REDIS_KEY_PREFIX + "shared-1")
    rate = RateLimit(3, 30.0)
    instance_a, instance_b = RedisCounter(rate, redis_url), RedisCounter(rate, redis_url)

    async def scenario():
        return [await instance_a.allow("shared-1"), await instance_b.allow("shared-1"),
                await instance_a.allow("shared-1"), await instance_b.allow("shared-1"),
                await instance_a.allow("shared-2")]

    assert run(scenario()) == [True, True, True, False, True]
    assert client.zcard(REDIS_KEY_PREFIX + "shared-1") == 3  # the refused message was not kept
    assert 0 < client.ttl(REDIS_KEY_PREFIX + "shared-1") <= 31
    client.delete(REDIS_KEY_PREFIX + "shared-1", REDIS_KEY_PREFIX + "shared-2")


def test_in_process_retry_of_a_counted_message_id_is_not_counted_again() -> None:
    counter = InProcessCounter(RateLimit(2, 10.0))

    async def scenario():
        return [await counter.allow("a", "m1", now=0.0), await counter.allow("a", "m1", now=1.0),
                await counter.allow("a", "m2", now=2.0), await counter.allow("a", "m1", now=3.0),
                await counter.allow("a", "m3", now=4.0), await counter.allow("a", "m3", now=5.0)]

    # m1's retries ride on its first count; m3 is over the limit, and so is its retry (never counted)
    assert run(scenario()) == [True, True, True, True, False, False]


def test_redis_retry_of_a_counted_message_id_is_not_counted_again(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = REDIS_KEY_PREFIX + "retry-1"
    client.delete(key)
    instance_a, instance_b = RedisCounter(RateLimit(2, 30.0), redis_url), RedisCounter(RateLimit(2, 30.0), redis_url)

    async def scenario():
        return [await instance_a.allow("retry-1", "m1"), await instance_b.allow("retry-1", "m1"),
                await instance_b.allow("retry-1", "m2"), await instance_a.allow("retry-1", "m1"),
                await instance_a.allow("retry-1", "m3"), await instance_b.allow("retry-1", "m3")]

    assert run(scenario()) == [True, True, True, True, False, False]
    assert sorted(client.zrange(key, 0, -1)) == [b"id:m1", b"id:m2"]
    client.delete(key)


def test_redis_down_lets_the_message_through(caplog: pytest.LogCaptureFixture) -> None:
    counter = RedisCounter(RateLimit(1, 30.0), "redis://127.0.0.1:1/0")  # nothing listens on port 1
    with caplog.at_level(logging.WARNING):
        assert run(counter.allow("x")) and run(counter.allow("x"))
    assert "let through" in caplog.text


def test_a_conversation_over_its_rate_is_told_to_slow_down_and_nothing_is_stored(
    tmp_path: Path, db_url: str
) -> None:
    with assistant_servers(tmp_path, db_url, MESSAGE_RATE_LIMIT="3/60") as rasa_url:

        def say(sender: str, text: str) -> list:
            reply = requests.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
            assert reply.status_code == 200, reply.text
            return [m.get("text") for m in reply.json()]

        replies = [say("fast-1", text) for text in ("hi", "do you ship to canada", "what payment methods do you accept", "hello?")]
        assert all(SLOW_DOWN_TEXT not in r for r in replies[:3])
        assert replies[3] == [SLOW_DOWN_TEXT]
        assert SLOW_DOWN_TEXT not in say("calm-1", "hi")  # other conversations are not affected

        # A client retrying a message id (after a timeout, say) is not counted twice.
        def say_with_id(text: str, message_id: str) -> list:
            reply = requests.post(f"{rasa_url}/webhooks/rest/webhook", timeout=60,
                                  json={"sender": "retrying-1", "message": text, "message_id": message_id})
            assert reply.status_code == 200, reply.text
            return [m.get("text") for m in reply.json()]

        first = say_with_id("hi", "r1")
        assert say_with_id("hi", "r1") == first  # the stored replies, sent again
        assert SLOW_DOWN_TEXT not in say_with_id("do you ship to canada", "r2")
        assert SLOW_DOWN_TEXT not in say_with_id("what payment methods do you accept", "r3")
        assert say_with_id("hello?", "r4") == [SLOW_DOWN_TEXT]
    with sqlite3.connect(tmp_path / "trackers.db") as db:
        texts = [row[0] for row in db.execute(
            "select json_extract(data, '$.text') from events where sender_id = 'fast-1' and type_name = 'user'")]
    assert texts == ["hi", "do you ship to canada", "what payment methods do you accept"]
