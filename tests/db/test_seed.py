"""Demo data: shape, the five scripted orders, determinism and re-seeding."""
import re
import subprocess
import sys
import threading
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from bot.db.models import (
    Carrier,
    Customer,
    CustomerTier,
    DemoMeta,
    Order,
    OrderStatus,
    Refund,
    RefundStatus,
)
from bot.db.seed import ensure_demo_data, main
from bot.db.session import dispose_engines, session_scope
from bot.paths import PROJECT_ROOT

DEMO = {
    10001: ("alice@example.com", "Alice Martin", "94110", OrderStatus.SHIPPED, Decimal("89.90")),
    10002: ("bob@example.com", "Bob Nguyen", "10001", OrderStatus.PROCESSING, Decimal("1249.00")),
    10003: ("alice@example.com", "Alice Martin", "94110", OrderStatus.DELIVERED, Decimal("34.50")),
    10004: ("carol@example.com", "Carol Diaz", "60614", OrderStatus.DELIVERED, Decimal("649.99")),
    10005: ("dave@example.com", "Dave Okafor", "73301", OrderStatus.CANCELLED, Decimal("120.00")),
}


def snapshot(url: str) -> dict:
    """Everything the seed produced, as plain comparable values (no surrogate ids)."""
    with session_scope(url) as s:
        customers = sorted(
            (c.email, c.name, c.zip_code, str(c.tier), c.created_at)
            for c in s.execute(select(Customer)).scalars()
        )
        orders = [
            (o.id, o.customer.email, str(o.status), o.placed_at, o.shipped_at, o.delivered_at,
             o.carrier and str(o.carrier), o.tracking_number, o.eta, o.total,
             tuple((i.sku, i.name, i.quantity, i.unit_price) for i in o.items))
            for o in s.execute(
                select(Order).options(selectinload(Order.items), selectinload(Order.customer))
                .order_by(Order.id)
            ).scalars()
        ]
        refunds = sorted(
            (r.order_id, r.amount, str(r.status), r.reason, r.created_at, r.updated_at)
            for r in s.execute(select(Refund)).scalars()
        )
    return {"customers": customers, "orders": orders, "refunds": refunds}


@pytest.fixture
def fresh_url(tmp_path):
    yield lambda name: f"sqlite:///{tmp_path / name}"
    dispose_engines()


def test_counts_and_order_numbers(db_url):
    with session_scope(db_url) as s:
        ids = s.execute(select(Order.id).order_by(Order.id)).scalars().all()
        customers = s.execute(select(func.count(Customer.id))).scalar()
    assert ids == list(range(10001, 10301))
    assert 45 <= customers <= 55


def test_the_five_demo_orders(db_url, today):
    yesterday = today - timedelta(days=1)
    with session_scope(db_url) as s:
        for order_id, (email, name, zip_code, status, total) in DEMO.items():
            order = s.get(Order, order_id)
            assert (order.customer.email, order.customer.name, order.customer.zip_code) == (email, name, zip_code)
            assert order.customer.tier is CustomerTier.STANDARD
            assert order.status is status
            assert order.total == total
            assert sum(i.unit_price * i.quantity for i in order.items) == total
            assert order.refunds == []
            assert order.placed_at < datetime.combine(today, time.min)

        shipped = s.get(Order, 10001)
        assert shipped.carrier is Carrier.UPS
        assert re.fullmatch(r"1Z[A-Z0-9]{16}", shipped.tracking_number)
        assert shipped.eta == today + timedelta(days=2)
        assert shipped.shipped_at.date() == yesterday
        assert shipped.delivered_at is None

        processing = s.get(Order, 10002)
        assert (processing.shipped_at, processing.delivered_at, processing.tracking_number) == (None, None, None)

        assert s.get(Order, 10003).delivered_at.date() == today - timedelta(days=5)
        assert s.get(Order, 10004).delivered_at.date() == today - timedelta(days=10)

        cancelled = s.get(Order, 10005)
        assert (cancelled.shipped_at, cancelled.delivered_at, cancelled.carrier) == (None, None, None)


def test_totals_equal_item_sums(db_url):
    with session_scope(db_url) as s:
        for order in s.execute(select(Order).options(selectinload(Order.items))).scalars():
            assert order.items, order.id
            assert order.total == sum(i.unit_price * i.quantity for i in order.items), order.id
            assert all(i.quantity > 0 and i.unit_price > 0 for i in order.items)


def test_statuses_and_dates_are_consistent(db_url, today):
    midnight = datetime.combine(today, time.min)
    with session_scope(db_url) as s:
        orders = s.execute(select(Order)).scalars().all()
        s.expunge_all()  # plain column values only from here on
    assert {o.status for o in orders} == set(OrderStatus)
    for o in orders:
        assert o.placed_at < midnight, o.id
        if o.status in (OrderStatus.PROCESSING, OrderStatus.CANCELLED):
            assert (o.shipped_at, o.delivered_at, o.carrier, o.tracking_number) == (None,) * 4, o.id
            continue
        assert o.placed_at <= o.shipped_at < midnight, o.id
        if o.carrier is Carrier.UPS:
            assert re.fullmatch(r"1Z[A-Z0-9]{16}", o.tracking_number), o.id
        else:
            assert o.carrier is Carrier.USPS and re.fullmatch(r"\d{22}", o.tracking_number), o.id
        if o.status is OrderStatus.SHIPPED:
            assert o.delivered_at is None and o.eta > today, o.id
        else:
            assert o.shipped_at <= o.delivered_at < midnight, o.id


def test_random_customers_and_refunds_look_plausible(db_url):
    with session_scope(db_url) as s:
        customers = s.execute(select(Customer)).scalars().all()
        refunds = s.execute(select(Refund).options(selectinload(Refund.order))).scalars().all()
        vip = sum(c.tier is CustomerTier.VIP for c in customers)
        assert 2 <= vip <= 8
        for c in customers:
            assert re.fullmatch(r"[a-z0-9.]+@example\.(com|org|net)", c.email), c.email
            assert re.fullmatch(r"\d{5}", c.zip_code)
        assert 3 <= len(refunds) <= 15
        assert len({r.status for r in refunds}) >= 3
        for r in refunds:
            assert r.order_id > 10005
            assert r.order.status in (OrderStatus.DELIVERED, OrderStatus.RETURNED)
            assert r.amount == r.order.total
            assert r.order.delivered_at <= r.created_at <= r.updated_at
            if r.status is RefundStatus.PENDING_AGENT_APPROVAL:
                assert r.amount > Decimal("500")


def test_same_day_gives_identical_data(fresh_url, today):
    a, b = fresh_url("a.db"), fresh_url("b.db")
    ensure_demo_data(a, today=today)
    ensure_demo_data(b, today=today)
    assert snapshot(a) == snapshot(b)


def test_other_day_shifts_the_same_data(fresh_url, today):
    a, b = fresh_url("a.db"), fresh_url("b.db")
    ensure_demo_data(a, today=today)
    ensure_demo_data(b, today=today + timedelta(days=7))
    before, after = snapshot(a)["orders"], snapshot(b)["orders"]
    assert [(o[0], o[1], o[2], o[9]) for o in before] == [(o[0], o[1], o[2], o[9]) for o in after]
    assert all(y[3] - x[3] == timedelta(days=7) for x, y in zip(before, after))


def test_ensure_demo_data_is_idempotent_on_the_same_day(db_url, today):
    with session_scope(db_url) as s:
        s.add(Refund(order_id=10003, amount=Decimal("34.50"), status=RefundStatus.REQUESTED))
    before = snapshot(db_url)
    assert ensure_demo_data(db_url, today=today) == f"demo data up to date ({today.isoformat()})"
    assert snapshot(db_url) == before


def test_ensure_demo_data_reseeds_on_a_new_day(db_url, today):
    with session_scope(db_url) as s:
        s.add(Refund(order_id=10003, amount=Decimal("34.50"), status=RefundStatus.REQUESTED))
    tomorrow = today + timedelta(days=1)
    assert ensure_demo_data(db_url, today=tomorrow) == f"seeded 50 customers, 300 orders ({tomorrow.isoformat()})"
    with session_scope(db_url) as s:
        assert s.get(DemoMeta, "seeded_on").value == tomorrow.isoformat()
        assert s.get(Order, 10003).refunds == []
        assert s.get(Order, 10001).eta == tomorrow + timedelta(days=2)
        assert s.execute(select(func.count(Order.id))).scalar() == 300


def test_ensure_demo_data_reseeds_on_reset_and_when_empty(db_url, today):
    with session_scope(db_url) as s:
        s.get(Order, 10002).status = OrderStatus.CANCELLED
    assert ensure_demo_data(db_url, today=today, reset=True).startswith("seeded ")
    with session_scope(db_url) as s:
        assert s.get(Order, 10002).status is OrderStatus.PROCESSING
        s.execute(delete(Refund))
        s.execute(delete(Order))
    assert ensure_demo_data(db_url, today=today).startswith("seeded ")
    assert len(snapshot(db_url)["orders"]) == 300


def test_cli_prints_summary(fresh_url, capsys):
    url = fresh_url("cli.db")
    assert main(["--database-url", url]) == 0
    assert re.fullmatch(r"seeded 50 customers, 300 orders \(\d{4}-\d{2}-\d{2}\)\n", capsys.readouterr().out)
    main(["--database-url", url])
    assert capsys.readouterr().out.startswith("demo data up to date (")
    main(["--database-url", url, "--reset"])
    assert capsys.readouterr().out.startswith("seeded ")


def test_cli_runs_as_module(fresh_url):
    done = subprocess.run(
        [sys.executable, "-m", "bot.db.seed", "--database-url", fresh_url("module.db")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )
    assert done.stdout.startswith("seeded 50 customers, 300 orders (")


def test_concurrent_first_start_seeds_once(fresh_url, today):
    url, results = fresh_url("race.db"), []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_demo_data(url, today=today)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.split(" ")[0] for r in results) == ["demo", "demo", "demo", "seeded"]
