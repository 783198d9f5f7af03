"""Reading the tracker store (Rasa's SQL ``events`` table) and the handoff records, in a stream.

Only the columns the metrics need are selected, the JSON ``data`` column only for the event
types whose payload is used, rows come in ``sender_id, id`` order through a server-side cursor
(PostgreSQL) or SQLite's lazy cursor, and are handed out one conversation (Rasa session) at a
time, so memory holds one conversation's events, not the store.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.paths import VAR_DIR

DEFAULT_TRACKER_DB_URL = f"sqlite:///{VAR_DIR / 'trackers.db'}"
BATCH = 5000

_metadata = sa.MetaData()
EVENTS = sa.Table(
    "events", _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


# The columns of bot.db.models.Handoff the metrics read (declared here: no reflection, no foreign keys).
HANDOFFS = sa.Table(
    "handoffs", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(128)),
    sa.Column("reasons", sa.Text),
    sa.Column("status", sa.String(32)),
    sa.Column("after_hours", sa.Integer),
    sa.Column("created_at", sa.DateTime),
    sa.Column("claimed_at", sa.DateTime),
    sa.Column("resolved_at", sa.DateTime),
)


def tracker_db_url(explicit: Optional[str] = None) -> str:
    """--tracker-db, else env TRACKER_DB_URL, else the assistant's SQLite tracker store (var/trackers.db)."""
    return explicit or os.environ.get("TRACKER_DB_URL") or DEFAULT_TRACKER_DB_URL


@dataclass(frozen=True)
class Row:
    sender_id: str
    type_name: str
    timestamp: float
    intent_name: Optional[str]
    action_name: Optional[str]
    data: Optional[str]


def make_engine(url: str) -> Engine:
    return sa.create_engine(url, future=True)


def open_tracker_store(url: str) -> Engine:
    """An engine on a tracker store that exists and has Rasa's ``events`` table (ValueError otherwise)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not os.path.exists(parsed.database):
        raise ValueError(f"no tracker store at {parsed.database}")  # and don't create an empty one
    engine = make_engine(url)
    if not sa.inspect(engine).has_table("events"):
        engine.dispose()
        raise ValueError(f"{parsed.render_as_string(hide_password=True)} has no Rasa events table")
    return engine


def count_events(engine: Engine, lo: float, hi: float) -> int:
    query = sa.select(sa.func.count()).select_from(EVENTS).where(EVENTS.c.timestamp >= lo, EVENTS.c.timestamp < hi)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


# Slots whose values the metrics read (the slot's name is also in the action_name column).
DATA_SLOTS = ("pending_confirmation", "order_id", "csat_score")


def _data_column() -> sa.sql.ColumnElement:
    """The JSON payload only where it is needed: the slots above, and messages with LLM usage.

    The LIKE filters run in the database, so the text of ordinary messages never crosses the wire.
    Rasa writes the payload with ``json.dumps`` defaults (``": "`` separators).
    """
    t, c = EVENTS.c.type_name, EVENTS.c
    needed = sa.or_(
        sa.and_(t == "slot", c.action_name.in_(DATA_SLOTS)),
        sa.and_(t == "user", c.data.like('%"llm": {%')),
        sa.and_(t == "bot", c.data.like('%"llm_usage": {%')),
    )
    return sa.case((needed, c.data), else_=sa.null())


def stream_rows(engine: Engine, lo: float, hi: float, progress: Optional[Any] = None) -> Iterator[Tuple]:
    """(sender_id, type_name, timestamp, intent_name, action_name, data) for events in [lo, hi).

    ``action_name`` holds the action's, the slot's or the loop's name (Rasa stores ``data["name"]``).
    """
    query = (
        sa.select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.intent_name,
                  EVENTS.c.action_name, _data_column())
        .where(EVENTS.c.timestamp >= lo, EVENTS.c.timestamp < hi)
        .order_by(EVENTS.c.sender_id, EVENTS.c.id)
    )
    with engine.connect() as conn:
        # Server-side (named) cursor on PostgreSQL, SQLite's lazy cursor otherwise; BATCH rows per fetch.
        result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(query)
        while True:
            batch = result.fetchmany(BATCH)
            if not batch:
                break
            yield from batch
            if progress is not None:
                progress.update(len(batch))
        result.close()


def sessions(rows: Iterator[Tuple]) -> Iterator[Tuple[str, List[Tuple]]]:
    """Rows grouped into conversations: per sender, a new one at each ``action_session_start``."""
    current: List[Tuple] = []
    sender: Optional[str] = None
    for row in rows:
        if row[0] != sender or (row[1] == "action" and row[4] == "action_session_start" and current):
            if current:
                yield sender, current
            current, sender = [], row[0]
        current.append(row)
    if current:
        yield sender, current


@dataclass(frozen=True)
class HandoffRecord:
    id: int
    conversation_id: str
    reasons: Sequence[str]
    status: str
    after_hours: bool
    created_at: datetime
    claimed_at: Optional[datetime]
    resolved_at: Optional[datetime]


def read_handoffs(db_url: str, lo: datetime, hi: datetime) -> List[HandoffRecord]:
    """Handoff records created in [lo, hi) (store-local naive datetimes); [] when there is no such table."""
    import json

    engine = make_engine(db_url)
    try:
        if not sa.inspect(engine).has_table("handoffs"):
            return []
        table = HANDOFFS
        query = (
            sa.select(table.c.id, table.c.conversation_id, table.c.reasons, table.c.status, table.c.after_hours,
                      table.c.created_at, table.c.claimed_at, table.c.resolved_at)
            .where(table.c.created_at >= lo, table.c.created_at < hi)
            .order_by(table.c.id)
        )
        with engine.connect() as conn:
            records = []
            for row in conn.execute(query):
                try:
                    reasons = json.loads(row.reasons) or []
                except (TypeError, ValueError):
                    reasons = []
                records.append(HandoffRecord(row.id, row.conversation_id, tuple(reasons), str(row.status),
                                             bool(row.after_hours), row.created_at, row.claimed_at, row.resolved_at))
            return records
    finally:
        engine.dispose()
