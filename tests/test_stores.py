"""endpoints.yml from the environment (bot/stores.py) and the generated nginx config, without servers."""
from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from bot.handoff.live import LiveAgentEventBroker
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.file import FileEventBroker
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain

from bot.deploy import nginx_binary, nginx_conf
from bot.stores import EnvTrackerStore, KeepAliveInMemoryLockStore, ResilientRedisLockStore, sql_tracker_store_kwargs
from tests.servers import PROJECT_ROOT


def test_postgres_url_becomes_sql_tracker_store_arguments() -> None:
    kwargs = sql_tracker_store_kwargs("postgresql://bot:s3cret@db.internal:6543/trackers?sslmode=require")
    assert kwargs["dialect"] == "postgresql" and kwargs["host"] == "db.internal" and kwargs["port"] == 6543
    assert kwargs["db"] == "trackers" and kwargs["username"] == "bot" and kwargs["password"] == "s3cret"
    assert kwargs["query"] == {"sslmode": "require"} and kwargs["login_db"] == "postgres"


def load_endpoints(monkeypatch: pytest.MonkeyPatch, **env: str) -> AvailableEndpoints:
    for key in ("TRACKER_DB_URL", "REDIS_URL", "EVENT_BROKER_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return AvailableEndpoints.read_endpoints(str(PROJECT_ROOT / "endpoints.yml"))


def test_defaults_need_no_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    endpoints = load_endpoints(monkeypatch, TRACKER_DB_URL=f"sqlite:///{tmp_path / 'sub' / 'trackers.db'}")
    store = TrackerStore.create(endpoints.tracker_store, Domain.empty())
    assert isinstance(store, EnvTrackerStore) and (tmp_path / "sub" / "trackers.db").exists()
    assert isinstance(LockStore.create(endpoints.lock_store), InMemoryLockStore)
    broker = asyncio.run(EventBroker.create(endpoints.event_broker))
    assert isinstance(broker, LiveAgentEventBroker) and broker.forward is None
    assert endpoints.action.url == "http://127.0.0.1:5055/webhook"


def test_redis_url_selects_the_redis_lock_store_and_a_broker_url_a_broker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    endpoints = load_endpoints(monkeypatch, REDIS_URL="redis://127.0.0.1:1/3", EVENT_BROKER_URL=f"file:{tmp_path / 'events.log'}")
    lock_store = LockStore.create(endpoints.lock_store)
    assert isinstance(lock_store, ResilientRedisLockStore)
    assert lock_store.red.connection_pool.connection_kwargs["db"] == 3  # no connection is made until used
    assert isinstance(asyncio.run(EventBroker.create(endpoints.event_broker)).forward, FileEventBroker)


def test_launcher_fills_in_the_action_server_url() -> None:
    from bot.launch import DEFAULTS

    assert DEFAULTS["ACTION_SERVER_URL"] == "http://127.0.0.1:5055/webhook"


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (make nginx)")
def test_generated_nginx_config_is_valid(tmp_path: Path) -> None:
    conf = nginx_conf(tmp_path / "nginx", 18080, [15005, 15006])
    text = conf.read_text()
    assert "server 127.0.0.1:15005 max_fails=1" in text and "non_idempotent" in text
    check = subprocess.run([nginx_binary(), "-t", "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "err.log")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_every_agent_s_tracker_store_raises_on_a_database_outage() -> None:
    """Rasa's FailSafeTrackerStore would answer a database outage with a new, empty tracker (the widget's
    conversation silently restarted on an instance that had not served a REST request yet)."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore

    import bot.stores  # noqa: F401 - wraps Agent._create_tracker_store
    from bot.channels.rest import is_store_error

    class Broken(InMemoryTrackerStore):
        async def retrieve(self, sender_id: str):  # type: ignore[override]
            import sqlalchemy.exc

            raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("connection refused"))

    assert asyncio.run(FailSafeTrackerStore(Broken(Domain.empty())).retrieve("x")) is None  # Rasa's default
    store = Agent._create_tracker_store(Broken(Domain.empty()), Domain.empty())  # what every Agent gets
    assert isinstance(store, FailSafeTrackerStore)
    with pytest.raises(Exception) as raised:
        asyncio.run(store.retrieve("x"))
    assert is_store_error(raised.value)


class RecordingBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


def test_the_broker_gets_each_new_event_once_without_re_reading_the_tracker(tmp_path: Path) -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    broker = RecordingBroker()
    store = EnvTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'trackers.db'}", event_broker=broker)

    async def no_second_read(sender_id: str) -> None:
        raise AssertionError("save read the whole tracker back")

    tracker = DialogueStateTracker.from_events("c-1", [ActionExecuted("action_listen"), UserUttered("hi")])
    store.retrieve = no_second_read  # type: ignore[method-assign]
    asyncio.run(store.save(tracker))
    tracker.update(BotUttered("Hello!"))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    asyncio.run(store.save(tracker))  # nothing new: nothing published

    assert [(e["sender_id"], e["event"]) for e in broker.published] == [
        ("c-1", "action"), ("c-1", "user"), ("c-1", "bot"), ("c-1", "action")]
    del store.retrieve
    stored = asyncio.run(store.retrieve("c-1"))
    assert [e.type_name for e in stored.events] == ["action", "user", "bot", "action"]


@pytest.fixture(scope="module")
def postgres_url() -> str:
    from tests.servers import PostgresCluster, free_port

    cluster = PostgresCluster(free_port())
    cluster.start()
    try:
        yield cluster.url("postgres")
    finally:
        cluster.destroy()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_prepared_session_read_matches_rasas_query_and_saves_skip_the_count(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    url = f"sqlite:///{tmp_path / 'trackers.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = EnvTrackerStore(Domain.empty(), url=url)
    sender = f"multi-session-{backend}"
    first = [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.1),
             ActionExecuted("action_listen", timestamp=1.2), UserUttered("hi", timestamp=1.3)]
    second = [ActionExecuted("action_session_start", timestamp=5.0), SessionStarted(timestamp=5.1),
              ActionExecuted("action_listen", timestamp=5.2), UserUttered("where is my order", timestamp=5.3)]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, first + second)))

    def rasas(sender_id: str):
        return asyncio.run(SQLTrackerStore._retrieve(store, sender_id, fetch_events_from_all_sessions=False))

    tracker = asyncio.run(store.retrieve(sender))
    assert [e.as_dict() for e in tracker.events] == [e.as_dict() for e in rasas(sender).events]
    assert [e.type_name for e in tracker.events] == ["session_started", "action", "user"]
    assert asyncio.run(store.retrieve("nobody")) is None
    assert len(asyncio.run(store.retrieve_full_tracker(sender)).events) == 8

    # Saving the tracker it read: the new events only, without a count query.
    counted = []
    rasa_count = store._additional_events
    store._additional_events = lambda session, t: counted.append(t) or rasa_count(session, t)  # type: ignore[method-assign]
    tracker.update(BotUttered("Which order?", timestamp=5.4))
    asyncio.run(store.save(tracker))
    tracker.update(ActionExecuted("action_listen", timestamp=5.5))
    asyncio.run(store.save(tracker))
    asyncio.run(store.save(tracker))
    assert counted == []
    # A tracker object it has not seen (a copy) is counted the way Rasa counts.
    copy = tracker.copy()
    copy.update(UserUttered("10001", timestamp=5.6))
    asyncio.run(store.save(copy))
    assert counted == [copy]
    assert [e.type_name for e in rasas(sender).events] == ["session_started", "action", "user", "bot", "action", "user"]
    store.engine.dispose()


def _serve_conversation_from_two_processes(stores: list, rounds: int, per_round: int) -> dict:
    """Each store (one per 'process', in its own thread and event loop) sends `per_round` messages
    of one conversation at once, `rounds` times; counts messages served side by side and lock errors."""
    counts = {"served": 0, "side_by_side": 0, "lock_errors": 0, "hung": 0}
    inside = [0]
    guard = threading.Lock()

    async def message(store: LockStore) -> None:
        try:
            async with store.lock("one-conversation", lock_lifetime=20, wait_time_in_seconds=0.002):
                with guard:
                    inside[0] += 1
                    counts["side_by_side"] += inside[0] > 1
                await asyncio.sleep(0.003)  # the turn
                with guard:
                    inside[0] -= 1
                    counts["served"] += 1
        except LockError:
            with guard:
                counts["lock_errors"] += 1

    async def process(store: LockStore) -> None:
        for _ in range(rounds):
            try:
                await asyncio.wait_for(asyncio.gather(*(message(store) for _ in range(per_round))), timeout=25)
            except asyncio.TimeoutError:
                with guard:
                    counts["hung"] += 1

    threads = [threading.Thread(target=asyncio.run, args=(process(store),)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return counts


def test_two_processes_never_serve_one_conversation_at_once_and_no_message_waits_forever(redis_url: str) -> None:
    # Rasa's own Redis lock store (GET, change, SET) failed this: messages served side by side,
    # and rounds that hung behind a lock whose waiting tickets another process had overwritten.
    prefix = f"t{uuid.uuid4().hex[:12]}"
    stores = [ResilientRedisLockStore(redis_url, key_prefix=prefix) for _ in range(2)]
    counts = _serve_conversation_from_two_processes(stores, rounds=40, per_round=3)
    assert counts == {"served": 2 * 40 * 3, "side_by_side": 0, "lock_errors": 0, "hung": 0}
    assert stores[0].get_lock("one-conversation") is None  # the last message's cleanup deleted the lock


def test_a_lock_whose_tickets_all_expired_is_deleted_so_waiters_stop_waiting(redis_url: str) -> None:
    store = ResilientRedisLockStore(redis_url, key_prefix=f"t{uuid.uuid4().hex[:12]}")
    ticket = store.issue_ticket("stale", lock_lifetime=0.01)
    assert store.get_lock("stale").now_serving == ticket
    time.sleep(0.05)
    store.update_lock("stale")  # what a waiting message does between attempts
    assert store.get_lock("stale") is None


def _long_turn_then_next_message(first: LockStore, second: LockStore, lifetime: float, turn_s: float) -> dict:
    """`first` runs a turn of `turn_s` seconds; `second` sends the conversation's next message meanwhile.
    Each store has its own thread and event loop (two processes when the store is shared, like Redis)."""
    times: dict = {}
    conversation = f"long-turn-{uuid.uuid4().hex[:8]}"

    async def turn(store: LockStore, name: str, delay: float, duration: float) -> None:
        await asyncio.sleep(delay)
        try:
            async with store.lock(conversation, lock_lifetime=lifetime, wait_time_in_seconds=0.02):
                times[f"{name}_in"] = time.monotonic()
                await asyncio.sleep(duration)
                times[f"{name}_out"] = time.monotonic()
        except LockError as error:
            times[f"{name}_error"] = str(error)

    if first is second:  # one process: both turns on one event loop
        async def both() -> None:
            await asyncio.gather(turn(first, "first", 0, turn_s), turn(second, "second", 0.1, 0.01))

        asyncio.run(both())
    else:
        threads = [threading.Thread(target=asyncio.run, args=(turn(first, "first", 0, turn_s),)),
                   threading.Thread(target=asyncio.run, args=(turn(second, "second", 0.1, 0.01),))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    return times


@pytest.mark.parametrize("kind", ["redis, two processes", "in memory, one process"])
def test_a_turn_longer_than_the_lock_lifetime_keeps_the_next_message_waiting(kind: str, request: pytest.FixtureRequest) -> None:
    # Rasa's stores let the next message in once the first ticket's lifetime ran out (0.6 s here),
    # while the first turn was still running: two turns of one conversation side by side.
    if kind.startswith("redis"):
        redis_url = request.getfixturevalue("redis_url")
        prefix = f"t{uuid.uuid4().hex[:12]}"
        first, second = (ResilientRedisLockStore(redis_url, key_prefix=prefix) for _ in range(2))
    else:
        first = second = KeepAliveInMemoryLockStore()
    times = _long_turn_then_next_message(first, second, lifetime=0.6, turn_s=2.0)
    assert "second_error" not in times, times  # it waited in line for longer than its lifetime, and kept its place
    assert times["second_in"] >= times["first_out"], "the next message ran beside the long turn"


def test_the_ticket_of_a_process_that_died_still_expires(redis_url: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    dead, alive = (ResilientRedisLockStore(redis_url, key_prefix=prefix) for _ in range(2))
    dead.issue_ticket("orphaned", lock_lifetime=0.5)  # taken, never renewed nor returned: its process was killed

    async def next_message() -> float:
        started = time.monotonic()
        async with alive.lock("orphaned", lock_lifetime=0.5, wait_time_in_seconds=0.05):
            return time.monotonic() - started

    waited = asyncio.run(next_message())
    assert 0.3 < waited < 3.0
    assert alive.get_lock("orphaned") is None
