"""Models, constraints and the engine/session helpers on a real SQLite file."""
import subprocess
import sys
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.db.models import (
    Customer,
    CustomerTier,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
)
from bot.db.session import (
    DEFAULT_DATABASE_URL,
    create_schema,
    database_url,
    dispose_engines,
    get_engine,
    session_scope,
)
from bot.paths import PROJECT_ROOT, VAR_DIR


def _customer(email: str = "new.person@example.com") -> Customer:
    return Customer(email=email, name="New Person", zip_code="12345")


def test_email_is_normalised_to_lower_case(db_url):
    with session_scope(db_url) as s:
        s.add(_customer("  Mixed.Case@Example.COM "))
    with session_scope(db_url) as s:
        found = s.execute(select(Customer).where(Customer.email == "mixed.case@example.com")).scalar_one()
        assert found.tier is CustomerTier.STANDARD
        assert isinstance(found.created_at, datetime)


def test_email_is_unique(db_url):
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            s.add(_customer("ALICE@example.com"))


def test_enums_are_stored_as_plain_strings_and_loaded_as_enums(db_url):
    with session_scope(db_url) as s:
        raw = s.execute(text("SELECT status, carrier FROM orders WHERE id = 10001")).one()
        assert tuple(raw) == ("shipped", "UPS")
        order = s.get(Order, 10001)
        assert order.status is OrderStatus.SHIPPED
        assert order.status == "shipped" and str(order.status) == "shipped"
        assert f"{order.status}" == "shipped"


def test_unknown_enum_value_is_rejected_by_orm(db_url):
    with pytest.raises(StatementError):
        with session_scope(db_url) as s:
            s.get(Order, 10002).status = "lost"


def test_unknown_enum_value_is_rejected_by_check_constraint(db_url):
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            s.execute(text("UPDATE refunds SET status = 'bogus'"))


def test_foreign_keys_are_enforced(db_url):
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            s.add(OrderItem(order_id=999, sku="X", name="Ghost", quantity=1, unit_price=Decimal("1")))


def test_money_round_trips_as_decimal_and_relationships_load(db_url):
    with session_scope(db_url) as s:
        order = s.get(Order, 10001)
        assert order.total == Decimal("89.90") and isinstance(order.total, Decimal)
        assert order.customer.email == "alice@example.com"
        assert [i.unit_price for i in order.items] == [Decimal("69.95"), Decimal("19.95")]
        assert order.refunds == []
        assert 10001 in [o.id for o in order.customer.orders]
        # Human-readable and exact in the SQLite file too.
        assert s.execute(text("SELECT total FROM orders WHERE id = 10004")).scalar() == 649.99


def test_money_is_quantised_to_cents(db_url):
    with session_scope(db_url) as s:
        s.add(Refund(order_id=10003, amount=Decimal("12.345"), status=RefundStatus.REQUESTED))
        s.add(Refund(order_id=10004, amount=Decimal("99999999.99"), status=RefundStatus.REQUESTED))
    with session_scope(db_url) as s:
        amounts = s.execute(select(Refund.amount).where(Refund.order_id.in_([10003, 10004]))).scalars()
        assert sorted(amounts) == [Decimal("12.35"), Decimal("99999999.99")]


def test_refund_timestamps_default_and_update(db_url):
    with session_scope(db_url) as s:
        refund = Refund(order_id=10003, amount=Decimal("34.50"), status=RefundStatus.REQUESTED)
        s.add(refund)
        s.flush()
        refund_id, created = refund.id, refund.created_at
        assert refund.updated_at is not None
    with session_scope(db_url) as s:
        refund = s.get(Refund, refund_id)
        refund.status = RefundStatus.APPROVED
        s.flush()
        assert refund.created_at == created and refund.updated_at >= created


def test_session_scope_rolls_back_on_error(db_url):
    with pytest.raises(RuntimeError):
        with session_scope(db_url) as s:
            s.get(Order, 10002).status = OrderStatus.CANCELLED
            raise RuntimeError("boom")
    with session_scope(db_url) as s:
        assert s.get(Order, 10002).status is OrderStatus.PROCESSING


def test_engine_is_cached_per_url_and_thread_safe(db_url, tmp_path):
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(get_engine(db_url))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(e) for e in seen}) == 1
    assert get_engine(db_url) is seen[0]
    assert get_engine(f"sqlite:///{tmp_path / 'other.db'}") is not seen[0]
    dispose_engines()
    assert get_engine(db_url) is not seen[0]


def test_sqlite_pragmas_and_parent_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'deeper' / 'x.db'}"
    create_schema(url)
    try:
        with get_engine(url).connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert (tmp_path / "nested" / "deeper" / "x.db").exists()
    finally:
        dispose_engines()


def test_in_memory_sqlite_shares_one_database():
    url = "sqlite://"
    try:
        create_schema(url)
        with session_scope(url) as s:
            s.add(_customer())
        with session_scope(url) as s:
            assert s.execute(select(Customer.email)).scalar_one() == "new.person@example.com"
    finally:
        dispose_engines()


def test_database_url_default_and_env(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == DEFAULT_DATABASE_URL
    assert DEFAULT_DATABASE_URL == f"sqlite:///{VAR_DIR / 'brightbay.db'}"
    assert VAR_DIR == PROJECT_ROOT / "var"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u:p@db/brightbay")
    assert database_url() == "postgresql+psycopg2://u:p@db/brightbay"
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/brightbay")
    assert database_url() == "postgresql://u:p@db/brightbay"


def test_importing_modules_touches_no_database(tmp_path):
    target = tmp_path / "never.db"
    code = "import bot.db, bot.db.models, bot.db.session, bot.db.seed, bot.orders"
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": f"sqlite:///{target}", "PATH": ""},
    )
    assert not target.exists() and not target.parent.joinpath("never.db-wal").exists()
