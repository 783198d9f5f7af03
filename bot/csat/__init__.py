"""Customer satisfaction ratings: parse a score, store it (table ``csat_ratings``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, ContextManager, Optional

from sqlalchemy.orm import Session

from bot.db.models import Base, CsatRating
from bot.db.session import acquire_setup_lock, session_scope

SessionFactory = Callable[[], ContextManager[Session]]
NO_COMMENT = "-"  # csat_comment's value when the customer declines to comment


def parse_score(value: Any) -> Optional[int]:
    """An integer 1-5 from a slot value (4, 4.0, "4"), else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != int(number) or not 1 <= number <= 5:
        return None
    return int(number)


def clean_comment(value: Any, max_chars: int = 2000) -> Optional[str]:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text == NO_COMMENT:
        return None
    return text[:max_chars]


class CsatStore:
    """Insert a rating, then attach the comment to it."""

    def __init__(self, session_factory: SessionFactory = session_scope) -> None:
        self._session_factory = session_factory
        self._schema_ready = False

    def _session(self) -> ContextManager[Session]:
        if not self._schema_ready:
            # Databases created before ratings existed lack the table.
            with self._session_factory() as session:
                acquire_setup_lock(session)
                Base.metadata.create_all(session.connection(), tables=[CsatRating.__table__], checkfirst=True)
            self._schema_ready = True
        return self._session_factory()

    def add(self, conversation_id: str, score: int, channel: Optional[str] = None,
            agent_handled: bool = False, comment: Optional[str] = None) -> int:
        with self._session() as session:
            now = datetime.now()
            row = CsatRating(conversation_id=conversation_id, channel=channel, score=score, comment=comment,
                             agent_handled=int(agent_handled), created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            return row.id

    def set_comment(self, rating_id: int, conversation_id: str, comment: str) -> bool:
        with self._session() as session:
            row = session.get(CsatRating, rating_id)
            if row is None or row.conversation_id != conversation_id:
                return False
            row.comment = comment
            row.updated_at = datetime.now()
            return True
