"""QueueNotices: what a customer writing while queued for an agent is told, and how often."""
from __future__ import annotations

from functools import partial

from bot.db.session import session_scope
from bot.handoff.store import HandoffStore, InMemoryQueue
import pytest

from bot.handoff.waiting import QueueNotices, queue_position_text, wants_to_leave_queue


def store_for(db_url: str) -> HandoffStore:
    return HandoffStore(partial(session_scope, db_url), InMemoryQueue())


def test_the_place_in_the_queue_once_per_interval(db_url: str) -> None:
    store = store_for(db_url)
    store.open("first", "rest", ["explicit_request"], 1, {})
    store.open("second", "rest", ["explicit_request"], 1, {})
    notices = QueueNotices(store, interval_s=60)
    assert "There is 1 customer ahead of you" in notices.notice_for("second", now=0.0)
    assert notices.notice_for("second", now=30.0) is None  # told 30 s ago
    assert "You're next in line" in notices.notice_for("first", now=30.0)
    assert "ahead of you" in notices.notice_for("second", now=61.0)


def test_nothing_once_an_agent_has_it_or_without_a_handoff(db_url: str) -> None:
    store = store_for(db_url)
    record = store.open("claimed", "rest", ["anger"], 3, {})
    store.claim(record.id, "alice")
    notices = QueueNotices(store)
    assert notices.notice_for("claimed", now=0.0) is None
    assert notices.notice_for("never-handed-off", now=0.0) is None


def test_after_hours_says_the_team_is_offline(db_url: str) -> None:
    store = store_for(db_url)
    store.open("night", "rest", ["explicit_request"], 1, {}, after_hours=True)
    notice = QueueNotices(store).notice_for("night", now=0.0)
    assert "offline right now" in notice and "ahead of you" not in notice


def test_leaving_the_queue_withdraws_only_a_queued_handoff(db_url: str) -> None:
    store = store_for(db_url)
    waiting = store.open("impatient", "rest", ["explicit_request"], 1, {})
    behind = store.open("behind", "rest", ["explicit_request"], 1, {})
    claimed = store.open("with-agent", "rest", ["anger"], 3, {})
    store.claim(claimed.id, "alice")
    notices = QueueNotices(store)

    assert notices.leave_queue("impatient")
    record = store.get(waiting.id)
    assert record.status == "resolved" and record.claimed_by is None and record.resolved_at is not None
    assert "left the queue" in record.notes[0]["text"]
    assert [h.id for h in store.queued()] == [behind.id]
    assert "You're next in line" in notices.notice_for("behind", now=0.0)
    assert not notices.leave_queue("impatient")  # already gone
    assert store.claim(waiting.id, "alice") is None
    # With an agent, the conversation stays theirs; no handoff, nothing to leave.
    assert not notices.leave_queue("with-agent") and store.get(claimed.id).status == "active"
    assert not notices.leave_queue("never-handed-off")


@pytest.mark.parametrize("text", [
    "no i dont want to wait", "I don't want to wait anymore", "never mind, I found it", "nvm",
    "stop waiting", "cancel the request", "forget it", "take me back to the bot", "I'm done waiting",
    "leave the queue", "i no longer need help",
])
def test_wordings_that_leave_the_queue(text: str) -> None:
    assert wants_to_leave_queue(text)


@pytest.mark.parametrize("text", [
    "no", "bye", "hello? anyone there?", "I can wait", "ok i'll wait", "how long is the wait?",
    "cancel my order 10002", "my order never arrived", "i need a refund", "",
])
def test_wordings_that_stay_in_the_queue(text: str) -> None:
    assert not wants_to_leave_queue(text)


def test_queue_position_wording() -> None:
    assert queue_position_text(0) == "You're next in line"
    assert queue_position_text(1) == "There is 1 customer ahead of you"
    assert queue_position_text(3) == "There are 3 customers ahead of you"


def test_with_redis_every_instance_shares_the_told_mark(db_url: str, redis_url: str) -> None:
    import redis

    from bot.handoff.waiting import REDIS_KEY_PREFIX

    redis.Redis.from_url(redis_url).delete(REDIS_KEY_PREFIX + "spread")
    store = store_for(db_url)
    store.open("spread", "rest", ["explicit_request"], 1, {})
    instance_a, instance_b = QueueNotices(store, 60, redis_url=redis_url), QueueNotices(store, 60, redis_url=redis_url)
    assert instance_a.notice_for("spread") is not None
    assert instance_b.notice_for("spread") is None  # told by the other instance a moment ago
    redis.Redis.from_url(redis_url).delete(REDIS_KEY_PREFIX + "spread")
    assert instance_b.notice_for("spread") is not None


def test_redis_down_falls_back_to_the_process_memory(db_url: str) -> None:
    store = store_for(db_url)
    store.open("no-redis", "rest", ["explicit_request"], 1, {})
    notices = QueueNotices(store, 60, redis_url="redis://127.0.0.1:1/0")
    assert notices.notice_for("no-redis", now=0.0) is not None
    assert notices.notice_for("no-redis", now=1.0) is None
