"""Handoff records (SQL) and the agents' queue (Redis when REDIS_URL is set).

The SQL record is the truth: status moves queued → active → resolved (or queued → resolved,
unclaimed, when the customer leaves the queue) with conditional UPDATEs, so two agents cannot
claim the same conversation. The queue orders the open handoffs by priority, then age. With
``REDIS_URL`` it is a Redis sorted set shared by every Rasa instance and the action server;
without it the queue is read from the same SQL table (the action server that writes a handoff
and the Rasa server whose agents read it are different processes, so a queue in one process's
memory would not be seen by the other). ``InMemoryQueue`` is the in-process variant for
single-process use and tests.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, ContextManager, Dict, List, Optional, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.models import Base, Handoff, HandoffNote, HandoffStatus
from bot.db.session import acquire_setup_lock, session_scope

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], ContextManager[Session]]
REDIS_QUEUE_KEY = "brightbay:handoff:queue"
_PRIORITY_SPAN = 10_000_000_000  # seconds; larger than any epoch timestamp we will see
WITHDRAWN_NOTE_AUTHOR = "assistant"
WITHDRAWN_NOTE = "The customer left the queue before an agent picked the conversation up."


@dataclass(frozen=True)
class HandoffView:
    """A handoff record as plain data (what the API returns)."""

    id: int
    conversation_id: str
    channel: str
    reasons: List[str]
    priority: int
    summary: Dict[str, Any]
    status: str
    claimed_by: Optional[str]
    after_hours: bool
    order_id: Optional[int]
    refund_id: Optional[int]
    created_at: datetime
    claimed_at: Optional[datetime]
    resolved_at: Optional[datetime]
    notes: List[Dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> Dict[str, Any]:
        def ts(value: Optional[datetime]) -> Optional[str]:
            return value.isoformat(timespec="seconds") if value else None

        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "reasons": self.reasons,
            "priority": self.priority,
            "priority_label": {3: "urgent", 2: "high", 1: "normal"}.get(self.priority, "normal"),
            "summary": self.summary,
            "status": self.status,
            "claimed_by": self.claimed_by,
            "after_hours": self.after_hours,
            "order_id": self.order_id,
            "refund_id": self.refund_id,
            "created_at": ts(self.created_at),
            "claimed_at": ts(self.claimed_at),
            "resolved_at": ts(self.resolved_at),
            "notes": self.notes,
        }


def _open_row(session: Session, conversation_id: str) -> Optional[Handoff]:
    """The conversation's newest queued or active handoff row, if any."""
    return session.execute(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id,
            Handoff.status.in_([HandoffStatus.QUEUED, HandoffStatus.ACTIVE]),
        ).order_by(Handoff.id.desc())
    ).scalars().first()


def _view(row: Handoff, with_notes: bool = False) -> HandoffView:
    return HandoffView(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        reasons=json.loads(row.reasons),
        priority=row.priority,
        summary=json.loads(row.summary),
        status=str(row.status),
        claimed_by=row.claimed_by,
        after_hours=bool(row.after_hours),
        order_id=row.order_id,
        refund_id=row.refund_id,
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        resolved_at=row.resolved_at,
        notes=[
            {"author": n.author, "text": n.text, "created_at": n.created_at.isoformat(timespec="seconds")}
            for n in row.notes
        ] if with_notes else [],
    )


def queue_score(priority: int, created: float) -> float:
    """Sort key: higher priority first, then older first."""
    return (4 - priority) * _PRIORITY_SPAN + created


class HandoffQueue:
    """Ordered ids of queued handoffs."""

    def push(self, handoff_id: int, priority: int, created: float) -> None:
        raise NotImplementedError

    def remove(self, handoff_id: int) -> None:
        raise NotImplementedError

    def ids(self) -> Optional[List[int]]:
        """Queued ids in order, or None when the store should read them from SQL."""
        raise NotImplementedError


class DatabaseQueue(HandoffQueue):
    """The queue is the set of queued records; ordering is done by the SQL query."""

    def push(self, handoff_id: int, priority: int, created: float) -> None:
        pass

    def remove(self, handoff_id: int) -> None:
        pass

    def ids(self) -> Optional[List[int]]:
        return None


class InMemoryQueue(HandoffQueue):
    """In-process queue (one process only)."""

    def __init__(self) -> None:
        self._scores: Dict[int, float] = {}
        self._lock = threading.Lock()

    def push(self, handoff_id: int, priority: int, created: float) -> None:
        with self._lock:
            self._scores[handoff_id] = queue_score(priority, created)

    def remove(self, handoff_id: int) -> None:
        with self._lock:
            self._scores.pop(handoff_id, None)

    def ids(self) -> Optional[List[int]]:
        with self._lock:
            return [i for i, _ in sorted(self._scores.items(), key=lambda item: (item[1], item[0]))]


class RedisQueue(HandoffQueue):
    """A Redis sorted set shared by every process that points at the same Redis."""

    def __init__(self, url: str, key: str = REDIS_QUEUE_KEY) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.key = key

    def push(self, handoff_id: int, priority: int, created: float) -> None:
        self._redis.zadd(self.key, {str(handoff_id): queue_score(priority, created)})

    def remove(self, handoff_id: int) -> None:
        self._redis.zrem(self.key, str(handoff_id))

    def ids(self) -> Optional[List[int]]:
        return [int(member) for member in self._redis.zrange(self.key, 0, -1)]


def make_queue(redis_url: Optional[str] = None) -> HandoffQueue:
    """Redis queue when ``redis_url`` (default env REDIS_URL) is set, else the SQL-backed one."""
    url = redis_url if redis_url is not None else os.environ.get("REDIS_URL")
    return RedisQueue(url) if url else DatabaseQueue()


class HandoffStore:
    """Create, list, claim, annotate and resolve handoffs."""

    def __init__(
        self,
        session_factory: SessionFactory = session_scope,
        queue: Optional[HandoffQueue] = None,
    ) -> None:
        self._session_factory = session_factory
        self.queue = queue if queue is not None else make_queue()
        self._schema_ready = False

    def _session(self) -> ContextManager[Session]:
        if not self._schema_ready:
            # Databases seeded before handoffs existed lack these two tables; the setup lock
            # keeps the action server and Rasa from creating them at the same moment.
            with self._session_factory() as session:
                acquire_setup_lock(session)
                Base.metadata.create_all(
                    session.connection(), tables=[Handoff.__table__, HandoffNote.__table__], checkfirst=True
                )
            self._schema_ready = True
        return self._session_factory()

    def open(
        self,
        conversation_id: str,
        channel: str,
        reasons: Sequence[str],
        priority: int,
        summary: Dict[str, Any],
        order_id: Optional[int] = None,
        refund_id: Optional[int] = None,
        after_hours: bool = False,
    ) -> HandoffView:
        """A new queued handoff (or the conversation's open one, updated), put on the queue."""
        with self._session() as session:
            row = _open_row(session, conversation_id)
            if row is None:
                row = Handoff(conversation_id=conversation_id, status=HandoffStatus.QUEUED, created_at=datetime.now())
                session.add(row)
            row.channel = channel or "rest"
            row.reasons = json.dumps(list(reasons))
            row.priority = max(1, min(3, int(priority)))
            row.summary = json.dumps(summary, default=str)
            row.order_id = order_id
            row.refund_id = refund_id if refund_id is not None else row.refund_id
            row.after_hours = int(bool(after_hours))
            session.flush()
            view = _view(row)
        if view.status == HandoffStatus.QUEUED.value:
            self.queue.push(view.id, view.priority, view.created_at.timestamp())
        return view

    def get(self, handoff_id: int) -> Optional[HandoffView]:
        with self._session() as session:
            row = session.get(Handoff, handoff_id)
            return _view(row, with_notes=True) if row is not None else None

    def open_for_conversation(self, conversation_id: str) -> Optional[HandoffView]:
        """The conversation's queued or active handoff, if any."""
        with self._session() as session:
            row = _open_row(session, conversation_id)
            return _view(row) if row is not None else None

    def queued(self) -> List[HandoffView]:
        """Queued handoffs, most urgent first, then oldest first."""
        ids = self.queue.ids()
        with self._session() as session:
            if ids is None:
                rows = session.execute(
                    select(Handoff).where(Handoff.status == HandoffStatus.QUEUED)
                    .order_by(Handoff.priority.desc(), Handoff.created_at, Handoff.id)
                ).scalars().all()
                return [_view(row) for row in rows]
            if not ids:
                return []
            rows = {
                row.id: row
                for row in session.execute(select(Handoff).where(Handoff.id.in_(ids))).scalars()
            }
            views = []
            for handoff_id in ids:
                row = rows.get(handoff_id)
                if row is None or row.status != HandoffStatus.QUEUED:
                    self.queue.remove(handoff_id)  # claimed or resolved elsewhere
                    continue
                views.append(_view(row))
            return views

    def active_for(self, agent: str) -> List[HandoffView]:
        with self._session() as session:
            rows = session.execute(
                select(Handoff).where(Handoff.status == HandoffStatus.ACTIVE, Handoff.claimed_by == agent)
                .order_by(Handoff.claimed_at)
            ).scalars().all()
            return [_view(row) for row in rows]

    def queue_length(self) -> int:
        return len(self.queued())

    def claim(self, handoff_id: int, agent: str) -> Optional[HandoffView]:
        """Claim a queued handoff; None when it is not queued any more (someone was faster)."""
        with self._session() as session:
            result = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.QUEUED)
                .values(status=HandoffStatus.ACTIVE, claimed_by=agent, claimed_at=datetime.now(),
                        updated_at=datetime.now())
            )
            if result.rowcount != 1:
                return None
        self.queue.remove(handoff_id)
        return self.get(handoff_id)

    def resolve(self, handoff_id: int, agent: str) -> Optional[HandoffView]:
        """Resolve an active handoff claimed by ``agent``; None otherwise."""
        with self._session() as session:
            result = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.ACTIVE,
                       Handoff.claimed_by == agent)
                .values(status=HandoffStatus.RESOLVED, resolved_at=datetime.now(), updated_at=datetime.now())
            )
            if result.rowcount != 1:
                return None
        self.queue.remove(handoff_id)
        return self.get(handoff_id)

    def withdraw(self, handoff_id: int) -> Optional[HandoffView]:
        """The customer left the queue before an agent claimed the handoff: resolved, unclaimed, with a note
        for the team; None when it is not queued any more (an agent was faster)."""
        with self._session() as session:
            result = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.QUEUED)
                .values(status=HandoffStatus.RESOLVED, resolved_at=datetime.now(), updated_at=datetime.now())
            )
            if result.rowcount != 1:
                return None
            session.add(HandoffNote(handoff_id=handoff_id, author=WITHDRAWN_NOTE_AUTHOR, text=WITHDRAWN_NOTE,
                                    created_at=datetime.now()))
        self.queue.remove(handoff_id)
        return self.get(handoff_id)

    def add_note(self, handoff_id: int, agent: str, text: str) -> Optional[Dict[str, Any]]:
        with self._session() as session:
            if session.get(Handoff, handoff_id) is None:
                return None
            note = HandoffNote(handoff_id=handoff_id, author=agent, text=text, created_at=datetime.now())
            session.add(note)
            session.flush()
            return {"author": note.author, "text": note.text, "created_at": note.created_at.isoformat(timespec="seconds")}
