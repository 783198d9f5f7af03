"""Acknowledged webhook events kept until they are answered, so an instance that dies mid-turn loses none.

Meta never delivers an acknowledged Messenger event again, and it expects the acknowledgement within
seconds, before the turn has run. A process stopped with SIGTERM answers what it has in hand first
(``bot.channels.facebook``); one killed outright (SIGKILL, the OOM killer, its machine gone) took the
events it had acknowledged with it. Now each event is written to the inbox before the ``200`` goes
back and removed once its turn is done. Every process renews a heartbeat; the events of a process
whose heartbeat has run out are moved, in one atomic step, to a live process, which answers them. A
message id (Messenger's ``mid``) that its conversation already stores is not answered twice
(``bot.channels.message_ids``), so an event whose turn had finished before the kill costs nothing.

Two stores behind one interface:

* :class:`RedisWebhookInbox` when ``REDIS_URL`` is set: shared by every instance, so another instance
  takes over a dead one's events (``<prefix>:<channel>:<process>`` hashes, ``<prefix>:alive:<process>``
  heartbeat keys with a time to live; the move is a Lua script, so two instances never both take them).
* :class:`SqliteWebhookInbox` otherwise (the embedded defaults, one host): a process restarted after a
  kill answers what its predecessor left.

An event older than ``max_age_s`` when it is found is dropped with a warning: an answer hours late to
a chat message is worse than none, and it would also replay old events in a copy of the database.
"""
from __future__ import annotations

import abc
import asyncio
import json
import logging
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

logger = logging.getLogger(__name__)

DEFAULT_DEAD_AFTER_S = 30.0
DEFAULT_MAX_AGE_S = 3600.0


@dataclass(frozen=True)
class InboxEvent:
    """One acknowledged webhook payload, as kept until its turn is done."""

    key: Text
    payload: Dict[Text, Any]
    received_at: float  # time.time() when it was acknowledged


class WebhookInboxError(Exception):
    """The inbox's store could not be reached or read."""


class WebhookInbox(abc.ABC):
    """Where one channel's acknowledged events wait until answered; one object per process and channel."""

    def __init__(self, channel: Text, dead_after_s: float = DEFAULT_DEAD_AFTER_S,
                 max_age_s: float = DEFAULT_MAX_AGE_S, process_id: Optional[Text] = None) -> None:
        if dead_after_s <= 0 or max_age_s <= 0:
            raise ValueError(f"dead_after_s and max_age_s must be positive, got {dead_after_s!r} and {max_age_s!r}")
        self.channel = channel
        self.dead_after_s = dead_after_s
        self.max_age_s = max_age_s
        self.process_id = process_id or uuid.uuid4().hex
        self._last_beat = float("-inf")

    @property
    def check_every_s(self) -> float:
        """How often to beat and look for orphans: three beats per ``dead_after_s``."""
        return self.dead_after_s / 3

    async def add(self, payload: Dict[Text, Any]) -> Text:
        """Keeps ``payload`` under this process; returns its key. Raises WebhookInboxError."""
        if time.monotonic() - self._last_beat > self.check_every_s:
            await self.beat()  # never an event under a process the others could take for dead
        key = uuid.uuid4().hex
        event = json.dumps({"payload": payload, "received_at": time.time()})
        await self._call(self._add, key, event)
        return key

    async def remove(self, key: Text) -> None:
        """Forgets an answered event (logged, not raised, when the store is down: it is answered already)."""
        try:
            await self._call(self._remove, key)
        except WebhookInboxError:
            logger.exception("answered %s event %s stays in the inbox", self.channel, key)

    async def beat(self) -> None:
        """Tells the other processes this one is alive (for ``dead_after_s``). Raises WebhookInboxError."""
        await self._call(self._beat)
        self._last_beat = time.monotonic()

    async def adopt_orphans(self) -> List[InboxEvent]:
        """Moves to this process the events of processes whose heartbeat ran out (and, on SQLite, that never
        beat), and returns those still young enough to answer; older ones are dropped. Raises WebhookInboxError."""
        raw = await self._call(self._adopt)
        events, now = [], time.time()
        for key, value in raw:
            try:
                stored = json.loads(value)
                event = InboxEvent(key, stored["payload"], float(stored["received_at"]))
            except (ValueError, KeyError, TypeError):
                logger.error("unreadable %s event %s dropped from the inbox", self.channel, key)
                await self.remove(key)
                continue
            if now - event.received_at > self.max_age_s:
                logger.warning("%s event %s, acknowledged %.0f s ago by a process that died, is too old to answer: "
                               "dropped", self.channel, key, now - event.received_at)
                await self.remove(key)
                continue
            events.append(event)
        if events:
            logger.warning("%d %s event(s) acknowledged by a process that died are answered here", len(events), self.channel)
        return events

    async def stop(self) -> None:
        """This process stops: its heartbeat is withdrawn, so what it leaves is taken over at the next check."""
        try:
            await self._call(self._withdraw)
        except WebhookInboxError:
            logger.exception("the %s inbox heartbeat could not be withdrawn", self.channel)

    async def _call(self, function: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args)
        except WebhookInboxError:
            raise
        except Exception as error:
            raise WebhookInboxError(f"{type(self).__name__}: {error}") from error

    # The store's side, run off the event loop. ------------------------------------------------------

    @abc.abstractmethod
    def _add(self, key: Text, event: Text) -> None: ...

    @abc.abstractmethod
    def _remove(self, key: Text) -> None: ...

    @abc.abstractmethod
    def _beat(self) -> None: ...

    @abc.abstractmethod
    def _adopt(self) -> List[tuple]:
        """(key, stored JSON) of the events moved to this process."""

    @abc.abstractmethod
    def _withdraw(self) -> None: ...


# Moves every field of a dead process's hash into this process's hash and deletes the first, in one step.
_ADOPT_SCRIPT = """
local moved = redis.call('HGETALL', KEYS[1])
if #moved > 0 then
  redis.call('HSET', KEYS[2], unpack(moved))
  redis.call('DEL', KEYS[1])
end
return moved
"""


class RedisWebhookInbox(WebhookInbox):
    """The inbox in Redis, shared by every instance of the assistant."""

    def __init__(self, url: Text, channel: Text, prefix: Text = "brightbay:inbox", timeout_s: float = 2.0,
                 **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._prefix = prefix
        self._adopt_script = self._redis.register_script(_ADOPT_SCRIPT)

    def _events_key(self, process_id: Text) -> Text:
        return f"{self._prefix}:{self.channel}:{process_id}"

    def _alive_key(self, process_id: Text) -> Text:
        return f"{self._prefix}:alive:{process_id}"

    def _add(self, key: Text, event: Text) -> None:
        self._redis.hset(self._events_key(self.process_id), key, event)

    def _remove(self, key: Text) -> None:
        self._redis.hdel(self._events_key(self.process_id), key)

    def _beat(self) -> None:
        self._redis.set(self._alive_key(self.process_id), "1", px=int(self.dead_after_s * 1000))

    def _adopt(self) -> List[tuple]:
        mine = self._events_key(self.process_id)
        adopted: List[tuple] = []
        for raw_key in self._redis.scan_iter(match=self._events_key("*"), count=100):
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            owner = key.rsplit(":", 1)[-1]
            if key == mine or self._redis.exists(self._alive_key(owner)):
                continue
            moved = self._adopt_script(keys=[key, mine])
            adopted += [(moved[i].decode(), moved[i + 1].decode()) for i in range(0, len(moved), 2)]
        return adopted

    def _withdraw(self) -> None:
        self._redis.delete(self._alive_key(self.process_id))


class SqliteWebhookInbox(WebhookInbox):
    """The inbox in a SQLite file, for one host (the embedded defaults)."""

    def __init__(self, path: Path, channel: Text, **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("CREATE TABLE IF NOT EXISTS inbox (key TEXT PRIMARY KEY, channel TEXT NOT NULL, "
                       "owner TEXT NOT NULL, event TEXT NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS alive (owner TEXT PRIMARY KEY, until REAL NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        # A connection per call: calls come from worker threads, and a write waits up to 5 s for another's.
        # Autocommit: each statement is its own transaction, except the explicit one of _adopt.
        return sqlite3.connect(self._path, timeout=5.0, isolation_level=None)

    def _add(self, key: Text, event: Text) -> None:
        with closing(self._connect()) as db:
            db.execute("INSERT INTO inbox VALUES (?, ?, ?, ?)", (key, self.channel, self.process_id, event))

    def _remove(self, key: Text) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM inbox WHERE key = ?", (key,))

    def _beat(self) -> None:
        with closing(self._connect()) as db:
            db.execute("INSERT OR REPLACE INTO alive VALUES (?, ?)", (self.process_id, time.time() + self.dead_after_s))

    def _adopt(self) -> List[tuple]:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one process at a time: the others wait, then find nothing left
            try:
                now = time.time()
                db.execute("DELETE FROM alive WHERE until < ?", (now,))
                rows = db.execute(
                    "SELECT key, event FROM inbox WHERE channel = ? AND owner != ? "
                    "AND owner NOT IN (SELECT owner FROM alive)", (self.channel, self.process_id)
                ).fetchall()
                db.executemany("UPDATE inbox SET owner = ? WHERE key = ?", [(self.process_id, key) for key, _ in rows])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return rows

    def _withdraw(self) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM alive WHERE owner = ?", (self.process_id,))


def inbox_from_env(channel: Text, environ: Dict[Text, Text], default_path: Path) -> WebhookInbox:
    """The Redis inbox when ``REDIS_URL`` is set, else SQLite at ``WEBHOOK_INBOX_DB`` (default ``default_path``);
    ``WEBHOOK_INBOX_DEAD_AFTER_S`` and ``WEBHOOK_INBOX_MAX_AGE_S`` override the defaults."""
    settings = {
        "dead_after_s": float(environ.get("WEBHOOK_INBOX_DEAD_AFTER_S") or DEFAULT_DEAD_AFTER_S),
        "max_age_s": float(environ.get("WEBHOOK_INBOX_MAX_AGE_S") or DEFAULT_MAX_AGE_S),
    }
    url = environ.get("REDIS_URL")
    if url:
        return RedisWebhookInbox(url, channel, **settings)
    return SqliteWebhookInbox(Path(environ.get("WEBHOOK_INBOX_DB") or default_path), channel, **settings)
