"""Fixtures for the action tests: a second service on the test database, a snapshot of it, a broken one."""
from functools import partial
from typing import Callable, Dict, List, Tuple

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.db.models import Order, Refund
from bot.db.session import session_scope
from bot.orders import OrderService


@pytest.fixture
def fresh_service(db_url: str, today) -> OrderService:
    """A second service on the same database, to read back what the actions wrote."""
    return OrderService(session_factory=partial(session_scope, db_url), today=lambda: today)


@pytest.fixture
def db_state(db_url: str) -> Callable[[], Tuple[Dict[int, str], List[tuple]]]:
    """Snapshot of every order status and refund row, to prove nothing was written."""

    def snapshot():
        with session_scope(db_url) as s:
            statuses = {i: str(st) for i, st in s.execute(select(Order.id, Order.status)).all()}
            refunds = sorted(
                (r.id, r.order_id, r.amount, str(r.status), r.updated_at)
                for r in s.execute(select(Refund)).scalars()
            )
        return statuses, refunds

    return snapshot


@pytest.fixture
def broken_service(today) -> OrderService:
    """A service whose database cannot be reached."""

    def unreachable():
        raise OperationalError("SELECT 1", {}, Exception("unable to open database file"))

    return OrderService(session_factory=unreachable, today=lambda: today)
