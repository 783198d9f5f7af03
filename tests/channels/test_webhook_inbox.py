"""The webhook inbox on real Redis and a real SQLite file: what a dead process acknowledged is taken over once."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List

import pytest
import redis

from bot.channels.webhook_inbox import (
    RedisWebhookInbox,
    SqliteWebhookInbox,
    WebhookInbox,
    WebhookInboxError,
    inbox_from_env,
)
from tests.servers import free_port


@pytest.fixture(params=["redis", "sqlite"])
def make_inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., WebhookInbox]:
    """Inboxes of one store, as separate processes would have them (each its own process id)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = f"test-inbox-{uuid.uuid4().hex}"
        yield lambda **kwargs: RedisWebhookInbox(url, "facebook", prefix=prefix, **kwargs)
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
    else:
        yield lambda **kwargs: SqliteWebhookInbox(tmp_path / "inbox.sqlite", "facebook", **kwargs)


def run(coroutine):
    return asyncio.run(coroutine)


def event(n: int) -> dict:
    return {"object": "page", "entry": [{"messaging": [{"sender": {"id": "42"}, "message": {"mid": f"m.{n}", "text": "hi"}}]}]}


def test_a_live_process_keeps_its_events_and_a_dead_ones_are_taken_over_once(make_inbox) -> None:
    first, second, third = make_inbox(dead_after_s=0.5), make_inbox(dead_after_s=0.5), make_inbox(dead_after_s=0.5)
    key = run(first.add(event(1)))
    run(second.beat())
    assert run(second.adopt_orphans()) == []  # the first is alive (it beat when it added)
    time.sleep(0.7)  # the first stops beating: killed
    run(second.beat())
    [adopted] = run(second.adopt_orphans())
    assert (adopted.key, adopted.payload) == (key, event(1)) and time.time() - adopted.received_at < 5
    # Now the second's: not taken again, by it or by a third process, while the second lives.
    run(third.beat())
    assert run(second.adopt_orphans()) == [] and run(third.adopt_orphans()) == []
    # Answered: gone for good.
    run(second.remove(adopted.key))
    time.sleep(0.7)
    run(third.beat())
    assert run(third.adopt_orphans()) == []


def test_a_stopped_process_leaves_its_unanswered_events_at_once(make_inbox) -> None:
    first, second = make_inbox(dead_after_s=60), make_inbox(dead_after_s=60)
    answered, unanswered = run(first.add(event(1))), run(first.add(event(2)))
    run(first.remove(answered))
    run(first.stop())  # SIGTERM with a turn still running: its heartbeat is withdrawn
    run(second.beat())
    assert [e.key for e in run(second.adopt_orphans())] == [unanswered]


def test_two_processes_looking_at_once_share_a_dead_ones_events_without_overlap(make_inbox) -> None:
    dead = make_inbox(dead_after_s=0.3)
    keys = {run(dead.add(event(n))) for n in range(30)}
    time.sleep(0.5)
    takers = [make_inbox(dead_after_s=30) for _ in range(2)]
    for taker in takers:
        run(taker.beat())
    taken: List[List[str]] = [[], []]
    start = threading.Barrier(2)

    def take(index: int) -> None:
        start.wait()
        taken[index] = [e.key for e in run(takers[index].adopt_orphans())]

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken[0] + taken[1]) == sorted(keys)  # every event once: none lost, none answered twice


def test_events_too_old_to_answer_are_dropped_not_replayed(make_inbox) -> None:
    dead = make_inbox(dead_after_s=0.2, max_age_s=0.4)
    run(dead.add(event(1)))
    time.sleep(0.6)
    taker = make_inbox(dead_after_s=0.2, max_age_s=0.4)
    run(taker.beat())
    assert run(taker.adopt_orphans()) == []
    other = make_inbox(dead_after_s=0.2, max_age_s=3600)
    run(other.beat())
    assert run(other.adopt_orphans()) == []  # dropped, not left for a more patient process


def test_an_unreadable_stored_event_is_dropped_and_the_rest_answered(redis_url) -> None:
    prefix = f"test-inbox-{uuid.uuid4().hex}"
    dead = RedisWebhookInbox(redis_url, "facebook", prefix=prefix, dead_after_s=0.2)
    good = run(dead.add(event(1)))
    client = redis.Redis.from_url(redis_url)
    client.hset(f"{prefix}:facebook:{dead.process_id}", "broken", "{not json")
    time.sleep(0.4)
    taker = RedisWebhookInbox(redis_url, "facebook", prefix=prefix, dead_after_s=30)
    run(taker.beat())
    try:
        assert [e.key for e in run(taker.adopt_orphans())] == [good]
        assert client.hkeys(f"{prefix}:facebook:{taker.process_id}") == [good.encode()]
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)


def test_a_store_that_cannot_be_reached_raises_the_inbox_error(tmp_path: Path) -> None:
    down = RedisWebhookInbox(f"redis://127.0.0.1:{free_port()}/0", "facebook", timeout_s=0.5)
    with pytest.raises(WebhookInboxError, match="RedisWebhookInbox"):
        run(down.add(event(1)))
    with pytest.raises(WebhookInboxError):
        run(down.adopt_orphans())
    run(down.remove("anything"))  # logged only: the event was answered already
    with pytest.raises(ValueError, match="-1"):
        SqliteWebhookInbox(tmp_path / "x.sqlite", "facebook", dead_after_s=-1)


def test_the_store_follows_the_environment(tmp_path: Path, redis_url: str) -> None:
    local = inbox_from_env("facebook", {"WEBHOOK_INBOX_DB": str(tmp_path / "in.sqlite"), "WEBHOOK_INBOX_DEAD_AFTER_S": "6"},
                           tmp_path / "default.sqlite")
    assert isinstance(local, SqliteWebhookInbox) and local.dead_after_s == 6 and local.check_every_s == 2
    run(local.add(event(1)))
    assert (tmp_path / "in.sqlite").exists() and not (tmp_path / "default.sqlite").exists()
    shared = inbox_from_env("facebook", {"REDIS_URL": redis_url, "WEBHOOK_INBOX_MAX_AGE_S": "60"}, tmp_path / "d.sqlite")
    assert isinstance(shared, RedisWebhookInbox) and shared.max_age_s == 60
