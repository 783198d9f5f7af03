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
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import make_url

from bot.paths import VAR_DIR

logger = logging.getLogger(__name__)

DEFAULT_TRACKER_DB_URL = f"sqlite:///{VAR_DIR / 'trackers.db'}"


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
        logger.info("Tracker store: %s", self.engine.url.render_as_string(hide_password=True))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save with one count of the stored events for both the insert and the broker."""
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
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
        # After the commit: a write that fails publishes nothing, and is published once when it succeeds.
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)


class ResilientRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with reconnects: a Redis restart costs no failed request."""

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


class EnvLockStore:
    """``type: bot.stores.EnvLockStore``: the Redis lock store when ``REDIS_URL`` is set, else in memory."""

    def __new__(cls, endpoint_config: Optional[EndpointConfig] = None) -> LockStore:  # type: ignore[misc]
        kwargs = dict(endpoint_config.kwargs) if endpoint_config else {}
        url = (endpoint_config.url if endpoint_config else None) or os.environ.get("REDIS_URL")
        if not url:
            logger.info("Lock store: in memory (set REDIS_URL when running several Rasa processes)")
            return InMemoryLockStore()
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
