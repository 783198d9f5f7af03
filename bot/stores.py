"""Rasa's tracker store, lock store and event broker, configured from the environment.

Rasa 3.6 expands ``${VAR}`` in endpoints.yml but has no defaults, and its SQL tracker
store takes dialect/host/port/db/... instead of a URL. The stores are named in
endpoints.yml (``type: bot.stores.EnvTrackerStore`` ...); together they read:

- ``TRACKER_DB_URL``: any SQLAlchemy URL for the conversation trackers; default
  ``sqlite:///var/trackers.db``. A PostgreSQL database that does not exist is created.
- ``REDIS_URL``: the Redis lock store (``redis://host:port/db``); unset, the in-memory
  lock store (only correct with a single Rasa process).
- ``EVENT_BROKER_URL``: optional event broker, fed by the live-agent broker of endpoints.yml: ``amqp://user:pw@host:port/vhost`` (Pika,
  queue ``EVENT_BROKER_QUEUE``, default ``rasa_events``), an SQLAlchemy URL (Rasa's SQL
  broker) or ``file:PATH`` (JSON lines); unset, no broker.

Importing this module also makes tracker-store errors fail the turn instead of restarting the
conversation on an empty in-memory tracker (see "Tracker store errors fail the turn" below).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
import weakref
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Dict, Iterable, Optional, Text, Tuple, TypeVar

from rasa.core.brokers.broker import EventBroker
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import make_url

from bot.paths import VAR_DIR


# -- Tracker store errors fail the turn -----------------------------------------------------------------
# Rasa wraps every tracker store in a FailSafeTrackerStore: when the database is down it hands out a
# *new, empty* tracker and keeps the turn in process memory, so the customer's conversation silently
# restarts and is lost. Its error callback re-raising the error makes the turn fail instead; each channel
# then says so (REST: 503 with Retry-After; the widget: an error acknowledgement it retries on). Set when
# the agent is created, so it holds for every channel from the first message on.


def raise_store_error(error: Exception) -> None:
    raise error


_rasa_create_tracker_store = Agent._create_tracker_store


def _create_strict_tracker_store(store: Optional[TrackerStore], domain: Domain) -> TrackerStore:
    """Rasa's FailSafeTrackerStore around ``store``, raising instead of falling back to an empty tracker."""
    wrapped = _rasa_create_tracker_store(store, domain)
    if isinstance(wrapped, FailSafeTrackerStore):
        wrapped._on_tracker_store_error = raise_store_error
    return wrapped


Agent._create_tracker_store = staticmethod(_create_strict_tracker_store)  # type: ignore[method-assign]

logger = logging.getLogger(__name__)

DEFAULT_TRACKER_DB_URL = f"sqlite:///{VAR_DIR / 'trackers.db'}"
T = TypeVar("T")


def tracker_db_url() -> str:
    url = os.environ.get("TRACKER_DB_URL") or DEFAULT_TRACKER_DB_URL
    if url.startswith("postgres://"):  # what hosting platforms hand out
        url = "postgresql://" + url[len("postgres://"):]
    return url


def sql_tracker_store_kwargs(url: str) -> Dict[str, Any]:
    """SQLTrackerStore's keyword arguments for an SQLAlchemy URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: Dict[str, Any] = {
        "dialect": parsed.drivername,
        "host": parsed.host,
        "port": parsed.port,
        "db": parsed.database or "",
        "username": parsed.username,
        "password": parsed.password,
        "query": dict(parsed.query) or None,
    }
    if backend == "sqlite":
        if kwargs["db"] and not kwargs["db"].startswith(":memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(kwargs["db"])), exist_ok=True)
    elif backend == "postgresql":
        # Connect to the maintenance database first and create ours if it is missing.
        kwargs["login_db"] = os.environ.get("TRACKER_DB_LOGIN_DB", "postgres")
    return kwargs


class EnvTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore on ``TRACKER_DB_URL`` (or ``url:`` in endpoints.yml).

    The engine checks pooled connections before use (``pool_pre_ping``), so after a
    database restart the next request gets a fresh connection instead of an error.

    ``save`` writes the same rows as Rasa's and hands the event broker the same new events,
    without Rasa's second read of the whole conversation per turn: Rasa's ``stream_events``
    re-reads and deserialises the stored tracker only to learn which events are new, which
    the count query of the save itself tells (14% of a Rasa process's CPU under 20
    concurrent conversations, py-spy).

    It also remembers, per conversation, the tracker object it last read or wrote and how many
    of its events are stored, so saving that same object again needs no count query, and it
    reads the current session's events with one textual SQL statement instead of building
    Rasa's ORM query per turn (SQLAlchemy's cache-key walk of it). Together: Rasa CPU per turn
    43.3 -> 37.6 ms (means of 7 runs each of benchmarks/load.py at 20 conversations). A tracker
    it does not know (a copy, a new one) is counted as Rasa does. Like Rasa's count, this relies
    on the conversation lock Rasa holds around each message (the Redis lock store across instances).
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        url: Optional[Text] = None,
        **kwargs: Any,
    ) -> None:
        self.db_url = url or host or tracker_db_url()
        store_kwargs = sql_tracker_store_kwargs(self.db_url)
        super().__init__(domain=domain, event_broker=event_broker, **store_kwargs, **kwargs)
        import sqlalchemy as sa

        engine_url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(engine_url, pool_pre_ping=True, **create_engine_kwargs(engine_url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        # The same rows as Rasa's `_event_query` for the latest session (its ORM form), as plain SQL.
        # Names quoted where the dialect needs it (as the ORM would quote them).
        q = self.engine.dialect.identifier_preparer.quote
        events, data, sender, kind, stamp, row_id = map(
            q, (self.SQLEvent.__tablename__, "data", "sender_id", "type_name", "timestamp", "id")
        )
        self._latest_session_events = sa.text(
            f"SELECT e.{data} FROM {events} e, (SELECT max({stamp}) AS session_start FROM {events} "
            f"WHERE {sender} = :sender_id AND {kind} = :session_started) s "
            f"WHERE e.{sender} = :sender_id AND (e.{stamp} >= s.session_start OR s.session_start IS NULL) "
            f"ORDER BY e.{row_id}"
        )
        # sender_id -> (weak reference to the tracker object last read or saved, its events stored)
        self._stored: Dict[Text, Tuple["weakref.ReferenceType[DialogueStateTracker]", int]] = {}
        logger.info("Tracker store: %s", self.engine.url.render_as_string(hide_password=True))

    def _remember(self, tracker: DialogueStateTracker, stored: int) -> None:
        sender_id, known = tracker.sender_id, self._stored

        def forget(reference: "weakref.ReferenceType[DialogueStateTracker]") -> None:
            # The tracker is gone; drop its entry unless a newer tracker took its place.
            if known.get(sender_id, (None,))[0] is reference:
                del known[sender_id]

        known[sender_id] = (weakref.ref(tracker, forget), stored)

    def _known_stored_count(self, tracker: DialogueStateTracker) -> Optional[int]:
        """Events of this very tracker object already stored, when this store read or saved it last."""
        if tracker.events.maxlen is not None:  # a bounded history shifts positions: count instead
            return None
        entry = self._stored.get(tracker.sender_id)
        return entry[1] if entry is not None and entry[0]() is tracker else None

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = session.execute(
                self._latest_session_events, {"sender_id": sender_id, "session_started": SessionStarted.type_name}
            ).scalars().all()
        if not (self.domain and rows):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in rows], self.domain.slots)
        self._remember(tracker, len(rows))
        return tracker

    def _unsaved_events(self, session: Any, tracker: DialogueStateTracker) -> Iterable[Event]:
        stored = self._known_stored_count(tracker)
        if stored is None:
            return self._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, None)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save with one count of the stored events for both the insert and the broker."""
        with self.session_scope() as session:
            new_events = list(self._unsaved_events(session, tracker))
            for event in new_events:
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        self._remember(tracker, len(tracker.events))
        # After the commit: a write that fails publishes nothing, and is published once when it succeeds.
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)


class TicketKeepAlive(LockStore):
    """While a process holds or waits for a conversation's ticket, it keeps the ticket from expiring.

    Rasa's tickets expire ``lock_lifetime`` seconds (``TICKET_LOCK_LIFETIME``) after they were
    issued, whatever their process is doing: a turn that took longer (slow actions, a slow LLM)
    let the next message of the conversation run beside it, and a message that waited longer in
    line lost its place. Here the process renews its ticket every third of the lifetime while the
    turn waits or runs, so the lifetime only matters when the process died: then its ticket expires
    and the conversation's next message goes ahead.
    """

    def renew_ticket(self, conversation_id: Text, ticket_number: int, lock_lifetime: float) -> None:
        lock = self.get_lock(conversation_id)
        if lock is not None and _renew(lock, ticket_number, lock_lifetime):
            self.save_lock(lock)

    async def _keep_alive(self, conversation_id: Text, ticket_number: int, lock_lifetime: float) -> None:
        while True:
            await asyncio.sleep(max(lock_lifetime / 3.0, 0.05))
            try:
                self.renew_ticket(conversation_id, ticket_number, lock_lifetime)
            except Exception as error:  # the next renewal, or the turn's own store calls, will tell
                logger.warning("Could not renew the lock ticket of conversation %s: %s", conversation_id, error)

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        keep_alive = asyncio.ensure_future(self._keep_alive(conversation_id, ticket, lock_lifetime))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            keep_alive.cancel()
            self.cleanup(conversation_id, ticket)


def _renew(lock: TicketLock, ticket_number: int, lock_lifetime: float) -> bool:
    """Moves the expiry of the ticket `ticket_number` to `lock_lifetime` from now; False if it is gone."""
    for ticket in lock.tickets:
        if ticket.number == ticket_number:
            ticket.expires = time.time() + lock_lifetime
            return True
    return False


class KeepAliveInMemoryLockStore(TicketKeepAlive, InMemoryLockStore):
    """Rasa's in-memory lock store (one process) whose tickets do not expire under a long turn."""


class ResilientRedisLockStore(TicketKeepAlive, RedisLockStore):
    """Rasa's Redis lock store with reconnects and atomic ticket updates.

    - Reconnects: a Redis restart costs no failed request.
    - Tickets renewed while their turn waits or runs (``TicketKeepAlive``).
    - Atomic updates: Rasa's store changes a conversation's lock by GET, change, SET. Two Rasa
      processes doing that at once overwrite each other's change: two messages of one
      conversation got the same ticket and ran side by side, or a waiting message's ticket was
      lost and it waited forever behind an empty lock (seen with six tries of one message sent
      to two instances at once). Here every change runs in a WATCH/MULTI transaction that is
      retried when another process changed the lock in between, and a lock left without
      tickets is deleted rather than saved.
    """

    def __init__(self, url: str, key_prefix: Optional[Text] = None) -> None:
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        timeout = float(os.environ.get("REDIS_SOCKET_TIMEOUT_S", "5"))
        super().__init__(key_prefix=key_prefix)  # sets key_prefix; its client is replaced below
        self.red = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=int(os.environ.get("REDIS_RETRIES", "6"))),
            retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
            health_check_interval=15,
        )
        self.url = url

    def _change_lock(
        self, conversation_id: Text, change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]]
    ) -> T:
        """Applies `change` (lock or None -> lock to store or None to delete, result) atomically."""
        key = self.key_prefix + conversation_id

        def attempt(pipe: Any) -> T:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new_lock, result = change(lock)
            pipe.multi()
            if new_lock is not None and new_lock.tickets:
                pipe.set(key, new_lock.dumps())
            else:
                pipe.delete(key)  # nobody holds or waits: waiters fail fast instead of waiting forever
            return result

        return self.red.transaction(attempt, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change_lock(conversation_id, issue)
        except Exception as error:  # as Rasa's: every failure to get a ticket is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def _change_existing_lock(self, conversation_id: Text, change: Callable[[TicketLock], Any]) -> None:
        """Applies `change` to the conversation's lock in one transaction; nothing when there is no lock."""
        def apply(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                change(lock)
            return lock, None

        self._change_lock(conversation_id, apply)

    def update_lock(self, conversation_id: Text) -> None:
        self._change_existing_lock(conversation_id, TicketLock.remove_expired_tickets)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._change_existing_lock(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # One transaction: removing the ticket deletes the lock when no other ticket is left.
        self.finish_serving(conversation_id, ticket_number)

    def renew_ticket(self, conversation_id: Text, ticket_number: int, lock_lifetime: float) -> None:
        self._change_existing_lock(conversation_id, lambda lock: _renew(lock, ticket_number, lock_lifetime))


class EnvLockStore:
    """``type: bot.stores.EnvLockStore``: the Redis lock store when ``REDIS_URL`` is set, else in memory."""

    def __new__(cls, endpoint_config: Optional[EndpointConfig] = None) -> LockStore:  # type: ignore[misc]
        kwargs = dict(endpoint_config.kwargs) if endpoint_config else {}
        url = (endpoint_config.url if endpoint_config else None) or os.environ.get("REDIS_URL")
        if not url:
            logger.info("Lock store: in memory (set REDIS_URL when running several Rasa processes)")
            return KeepAliveInMemoryLockStore()
        logger.info("Lock store: Redis at %s", url.split("@")[-1])
        return ResilientRedisLockStore(url, key_prefix=kwargs.get("key_prefix") or os.environ.get("REDIS_KEY_PREFIX"))


async def create_event_broker(url: str, event_loop: Any = None) -> Optional[EventBroker]:
    """The broker an ``EVENT_BROKER_URL`` names (read by bot.handoff.live.LiveAgentEventBroker, which forwards to it)."""
    if url.startswith("file:"):
        from rasa.core.brokers.file import FileEventBroker

        return FileEventBroker(path=url[len("file:"):])
    if url.startswith(("amqp://", "amqps://")):
        from rasa.core.brokers.pika import PikaEventBroker

        from urllib.parse import urlparse

        parts = urlparse(url)
        broker = PikaEventBroker(
            host=parts.hostname or "localhost",
            username=parts.username or "guest",
            password=parts.password or "guest",
            port=parts.port or 5672,
            queues=[os.environ.get("EVENT_BROKER_QUEUE", "rasa_events")],
            event_loop=event_loop,
        )
        await broker.connect()
        return broker
    from rasa.core.brokers.sql import SQLEventBroker

    kwargs = sql_tracker_store_kwargs(url)
    kwargs.pop("login_db", None)
    kwargs.pop("query", None)
    return SQLEventBroker(**kwargs)
