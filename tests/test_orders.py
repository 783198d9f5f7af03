"""OrderService against the seeded demo database."""
import dataclasses
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import select

from bot.db.models import Order, OrderStatus, Refund, RefundStatus
from bot.db.session import session_scope
from bot.orders import (
    CancelOutcome,
    OrderService,
    OrderSummary,
    RefundOutcome,
    RefundSummary,
    business_days_after,
    business_days_between,
    expected_ship_day,
)

ABSURD_IDS = [0, -1, 100_000_000, 10**30, True, "10001", 10001.0, None]


def db_state(url: str):
    """Order statuses and refunds, to prove failed operations wrote nothing."""
    with session_scope(url) as s:
        statuses = dict(s.execute(select(Order.id, Order.status)).all())
        refunds = sorted(
            (r.id, r.order_id, r.amount, str(r.status), r.reason, r.updated_at)
            for r in s.execute(select(Refund)).scalars()
        )
    return statuses, refunds


def service_for(db_url, today, **kwargs) -> OrderService:
    return OrderService(session_factory=partial(session_scope, db_url), today=lambda: today, **kwargs)


# --- verify -----------------------------------------------------------------

def test_verify_by_email_returns_summary(order_service, today):
    order = order_service.verify(10001, "alice@example.com")
    assert isinstance(order, OrderSummary)
    assert order.order_id == 10001
    assert order.status is OrderStatus.SHIPPED and order.status == "shipped"
    assert (order.carrier, order.tracking_number) == ("UPS", "1Z999AA10123456784")
    assert order.eta == today + timedelta(days=2)
    assert order.shipped_on == today - timedelta(days=1)
    assert order.delivered_on is None and order.placed_on < today
    assert order.total == Decimal("89.90")
    assert (order.customer_email, order.customer_name, order.customer_tier) == (
        "alice@example.com", "Alice Martin", "standard")
    assert order.items == (("Portable Bluetooth Speaker", 1), ("USB-C Charging Cable (2 m)", 1))


def test_summary_is_frozen_plain_data(order_service):
    order = order_service.verify(10003, "alice@example.com")
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.status = OrderStatus.CANCELLED
    assert isinstance(order.items, tuple)


def test_verify_email_is_case_insensitive_and_trimmed(order_service):
    assert order_service.verify(10002, "  Bob@Example.COM \n").order_id == 10002


def test_verify_by_zip(order_service):
    assert order_service.verify(10004, "60614").customer_email == "carol@example.com"
    assert order_service.verify(10004, " 60614-1234 ").order_id == 10004


def test_wrong_identity_and_unknown_order_look_identical(order_service):
    wrong_email = order_service.verify(10001, "bob@example.com")
    wrong_zip = order_service.verify(10001, "10001")
    unknown = order_service.verify(99999, "alice@example.com")
    assert wrong_email is None and wrong_zip is None and unknown is None


@pytest.mark.parametrize("identity", ["", "   ", None, "alice", "%", "alice@example.com' OR '1'='1"])
def test_verify_rejects_junk_identity(order_service, identity):
    assert order_service.verify(10001, identity) is None


@pytest.mark.parametrize("order_id", ABSURD_IDS)
def test_absurd_ids_never_reach_the_database(db_url, today, order_id):
    def no_db():
        raise AssertionError("database was queried")

    service = OrderService(session_factory=no_db, today=lambda: today)
    assert service.verify(order_id, "alice@example.com") is None
    assert service.cancel(order_id, "alice@example.com").outcome is CancelOutcome.NOT_VERIFIED
    assert service.request_refund(order_id, "alice@example.com").outcome is RefundOutcome.NOT_VERIFIED
    assert service.refunds(order_id, "alice@example.com") is None


# --- cancel -----------------------------------------------------------------

def test_cancel_processing_order(order_service, db_url):
    result = order_service.cancel(10002, "bob@example.com")
    assert result.outcome is CancelOutcome.CANCELLED
    assert result.order.status is OrderStatus.CANCELLED
    assert order_service.verify(10002, "10001").status is OrderStatus.CANCELLED
    assert order_service.cancel(10002, "bob@example.com").outcome is CancelOutcome.ALREADY_CANCELLED


@pytest.mark.parametrize("order_id, identity, outcome", [
    (10001, "alice@example.com", CancelOutcome.ALREADY_SHIPPED),
    (10003, "94110", CancelOutcome.ALREADY_DELIVERED),
    (10005, "dave@example.com", CancelOutcome.ALREADY_CANCELLED),
    (10002, "alice@example.com", CancelOutcome.NOT_VERIFIED),
    (99999, "bob@example.com", CancelOutcome.NOT_VERIFIED),
])
def test_cancel_refusals_write_nothing(order_service, db_url, order_id, identity, outcome):
    before = db_state(db_url)
    result = order_service.cancel(order_id, identity)
    assert result.outcome is outcome
    assert (result.order is None) == (outcome is CancelOutcome.NOT_VERIFIED)
    assert db_state(db_url) == before


def test_cancel_returned_order(order_service, db_url):
    with session_scope(db_url) as s:
        order = s.execute(
            select(Order).where(Order.status == OrderStatus.RETURNED).order_by(Order.id)
        ).scalars().first()
        order_id, email = order.id, order.customer.email
    before = db_state(db_url)
    assert order_service.cancel(order_id, email).outcome is CancelOutcome.RETURNED
    assert db_state(db_url) == before


# --- refunds ----------------------------------------------------------------

def test_refund_small_recent_order_is_requested(order_service, today):
    result = order_service.request_refund(10003, "ALICE@example.com", reason="  Lid leaks  ")
    assert result.outcome is RefundOutcome.REQUESTED
    assert isinstance(result.refund, RefundSummary)
    assert result.refund.order_id == 10003
    assert result.refund.amount == Decimal("34.50")
    assert result.refund.status is RefundStatus.REQUESTED
    assert result.order.order_id == 10003
    assert order_service.refunds(10003, "94110") == [result.refund]


def test_refund_reason_is_stored_trimmed(order_service, db_url):
    refund = order_service.request_refund(10003, "94110", reason="  Lid leaks  ").refund
    with session_scope(db_url) as s:
        assert s.get(Refund, refund.refund_id).reason == "Lid leaks"


def test_refund_above_threshold_needs_agent(order_service):
    result = order_service.request_refund(10004, "carol@example.com")
    assert result.outcome is RefundOutcome.PENDING_AGENT_APPROVAL
    assert result.refund.status is RefundStatus.PENDING_AGENT_APPROVAL
    assert result.refund.amount == Decimal("649.99")


def test_threshold_is_configurable(db_url, today):
    service = service_for(db_url, today, refund_approval_threshold=Decimal("1000"))
    assert service.request_refund(10004, "60614").outcome is RefundOutcome.REQUESTED


def test_second_request_returns_the_existing_refund(order_service, db_url):
    first = order_service.request_refund(10003, "alice@example.com")
    before = db_state(db_url)
    second = order_service.request_refund(10003, "alice@example.com")
    assert second.outcome is RefundOutcome.ALREADY_REQUESTED
    assert second.refund == first.refund
    assert db_state(db_url) == before


BOTTLE, CARABINERS = "Insulated Water Bottle, 1 L", "Carabiner Set (3-pack)"


def test_a_refund_for_some_lines_costs_what_they_cost(order_service, db_url):
    # Seen in a chat: "i want to return just the water bottle" refunded the whole order ($34.50).
    dry = order_service.refund_eligibility(10003, "alice@example.com", [BOTTLE])
    assert (dry.outcome, dry.amount, dry.items) == (RefundOutcome.REQUESTED, Decimal("24.50"), (BOTTLE,))
    result = order_service.request_refund(10003, "alice@example.com", items=[BOTTLE])
    assert result.refund.amount == Decimal("24.50") and result.refund.items == (BOTTLE,)
    assert order_service.refunds(10003, "alice@example.com") == [result.refund]
    # The same line again is the refund already filed; the other line may still be refunded.
    before = db_state(db_url)
    again = order_service.request_refund(10003, "alice@example.com", items=[BOTTLE])
    assert again.outcome is RefundOutcome.ALREADY_REQUESTED and again.refund == result.refund
    assert db_state(db_url) == before
    rest = order_service.request_refund(10003, "alice@example.com")  # "the rest of the order"
    assert (rest.refund.amount, rest.refund.items) == (Decimal("10.00"), (CARABINERS,))
    last = order_service.request_refund(10003, "alice@example.com")
    assert last.outcome is RefundOutcome.ALREADY_REQUESTED


def test_a_whole_order_refund_covers_every_line(order_service):
    whole = order_service.request_refund(10003, "alice@example.com")
    assert (whole.refund.amount, whole.refund.items, whole.items) == (Decimal("34.50"), (), ())
    assert order_service.request_refund(10003, "alice@example.com", items=[CARABINERS]).outcome is (
        RefundOutcome.ALREADY_REQUESTED)


def test_names_that_match_no_line_mean_the_whole_order(order_service):
    result = order_service.refund_eligibility(10003, "alice@example.com", ["Garden Hose"])
    assert (result.amount, result.items) == (Decimal("34.50"), ())


def test_the_agent_threshold_applies_to_the_amount_refunded(db_url, today):
    service = service_for(db_url, today, refund_approval_threshold=Decimal("30"))
    assert service.refund_eligibility(10003, "alice@example.com").outcome is RefundOutcome.PENDING_AGENT_APPROVAL
    assert service.refund_eligibility(10003, "alice@example.com", [CARABINERS]).outcome is RefundOutcome.REQUESTED


def test_rejected_refund_allows_a_new_request(order_service, db_url):
    first = order_service.request_refund(10003, "alice@example.com").refund
    with session_scope(db_url) as s:
        s.get(Refund, first.refund_id).status = RefundStatus.REJECTED
    again = order_service.request_refund(10003, "alice@example.com")
    assert again.outcome is RefundOutcome.REQUESTED
    assert again.refund.refund_id != first.refund_id
    assert [r.status for r in order_service.refunds(10003, "alice@example.com")] == [
        RefundStatus.REJECTED, RefundStatus.REQUESTED]


@pytest.mark.parametrize("order_id, identity", [
    (10001, "alice@example.com"),  # shipped
    (10002, "bob@example.com"),    # processing
    (10005, "dave@example.com"),   # cancelled
])
def test_refund_needs_a_delivered_order(order_service, db_url, order_id, identity):
    before = db_state(db_url)
    result = order_service.request_refund(order_id, identity)
    assert result.outcome is RefundOutcome.NOT_DELIVERED
    assert result.refund is None and result.order.order_id == order_id
    assert db_state(db_url) == before


def test_refund_outside_window(db_url, today):
    later = today + timedelta(days=25)  # 10004 was delivered 35 days before `later`
    service = service_for(db_url, later)
    before = db_state(db_url)
    assert service.request_refund(10004, "carol@example.com").outcome is RefundOutcome.OUTSIDE_WINDOW
    assert service.request_refund(10003, "alice@example.com").outcome is RefundOutcome.REQUESTED
    assert db_state(db_url)[0] == before[0]
    assert len(db_state(db_url)[1]) == len(before[1]) + 1


def test_refund_window_edge_is_inclusive(db_url, today):
    service = service_for(db_url, today, refund_window_days=10)
    assert service.request_refund(10004, "60614").outcome is RefundOutcome.PENDING_AGENT_APPROVAL
    service = service_for(db_url, today, refund_window_days=4)
    assert service.request_refund(10003, "94110").outcome is RefundOutcome.OUTSIDE_WINDOW


def test_refund_not_verified_writes_nothing(order_service, db_url):
    before = db_state(db_url)
    wrong = order_service.request_refund(10003, "carol@example.com")
    unknown = order_service.request_refund(99999, "alice@example.com")
    assert wrong == unknown
    assert wrong.outcome is RefundOutcome.NOT_VERIFIED and wrong.refund is None and wrong.order is None
    assert db_state(db_url) == before


def test_seeded_refund_on_returned_order_is_already_requested(order_service, db_url):
    with session_scope(db_url) as s:
        refund = s.execute(
            select(Refund).where(Refund.status == RefundStatus.PAID).order_by(Refund.id)
        ).scalars().first()
        order_id, email = refund.order_id, refund.order.customer.email
    result = order_service.request_refund(order_id, email)
    assert result.outcome is RefundOutcome.ALREADY_REQUESTED
    assert result.refund.status is RefundStatus.PAID


@pytest.mark.parametrize("order_id, identity, outcome", [
    (10003, "alice@example.com", RefundOutcome.REQUESTED),
    (10004, "60614", RefundOutcome.PENDING_AGENT_APPROVAL),
    (10001, "alice@example.com", RefundOutcome.NOT_DELIVERED),
    (10003, "bob@example.com", RefundOutcome.NOT_VERIFIED),
    (0, "alice@example.com", RefundOutcome.NOT_VERIFIED),
])
def test_refund_eligibility_is_a_dry_run(order_service, db_url, order_id, identity, outcome):
    before = db_state(db_url)
    result = order_service.refund_eligibility(order_id, identity)
    assert result.outcome is outcome and result.refund is None
    assert (result.order is None) == (outcome is RefundOutcome.NOT_VERIFIED)
    assert db_state(db_url) == before


def test_refund_eligibility_reports_existing_refund(order_service):
    filed = order_service.request_refund(10003, "alice@example.com").refund
    result = order_service.refund_eligibility(10003, "alice@example.com")
    assert result.outcome is RefundOutcome.ALREADY_REQUESTED and result.refund == filed


def test_refunds_listing(order_service):
    assert order_service.refunds(10004, "carol@example.com") == []
    assert order_service.refunds(10004, "alice@example.com") is None
    assert order_service.refunds(99999, "carol@example.com") is None


def _in_threads(count, fn, *args):
    results, errors = [], []

    def run():
        try:
            results.append(fn(*args).outcome)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return sorted(results)


def test_concurrent_refund_requests_create_one_refund(order_service):
    outcomes = _in_threads(6, order_service.request_refund, 10003, "alice@example.com")
    assert outcomes == [RefundOutcome.ALREADY_REQUESTED] * 5 + [RefundOutcome.REQUESTED]
    assert len(order_service.refunds(10003, "alice@example.com")) == 1


def test_concurrent_cancels_cancel_once(order_service):
    outcomes = _in_threads(6, order_service.cancel, 10002, "bob@example.com")
    assert outcomes.count(CancelOutcome.CANCELLED) == 1
    assert outcomes.count(CancelOutcome.ALREADY_CANCELLED) == 5


@pytest.mark.parametrize("placed_at, ships", [
    (datetime(2026, 3, 12, 9, 30), date(2026, 3, 12)),    # Thursday morning: that day
    (datetime(2026, 3, 12, 14, 0), date(2026, 3, 13)),    # Thursday at the cutoff: Friday
    (datetime(2026, 3, 13, 16, 45), date(2026, 3, 16)),   # Friday afternoon: Monday
    (datetime(2026, 3, 14, 10, 0), date(2026, 3, 16)),    # Saturday morning: Monday
    (datetime(2026, 3, 15, 23, 59), date(2026, 3, 16)),   # Sunday night: Monday
    (datetime(2026, 11, 25, 15, 0), date(2026, 11, 27)),  # Wednesday afternoon before Thanksgiving: Friday
    (datetime(2026, 11, 26, 9, 0), date(2026, 11, 27)),   # Thanksgiving morning: Friday
    (datetime(2026, 7, 2, 16, 0), date(2026, 7, 6)),      # July 4th is a Saturday, observed Friday July 3: Monday
    (datetime(2026, 12, 24, 15, 0), date(2026, 12, 28)),  # Christmas Eve afternoon: Christmas is a Friday
])
def test_the_day_an_order_usually_ships(placed_at, ships):
    # data/kb/shipping.md: orders placed before 14:00 ET on a business day usually ship the same day.
    assert expected_ship_day(placed_at) == ships


@pytest.mark.parametrize("start, end, days", [
    (date(2026, 3, 14), date(2026, 3, 15), 0),   # Saturday to Sunday
    (date(2026, 3, 13), date(2026, 3, 16), 1),   # Friday to Monday
    (date(2026, 3, 14), date(2026, 3, 22), 5),   # a whole week
    (date(2026, 3, 16), date(2026, 3, 16), 0),
    (date(2026, 3, 17), date(2026, 3, 16), 0),   # end before start
    (date(2026, 11, 23), date(2026, 11, 30), 4),  # Thanksgiving week
    (date(2026, 5, 22), date(2026, 5, 26), 1),   # Friday to Tuesday over Memorial Day
])
def test_business_days_between(start, end, days):
    assert business_days_between(start, end) == days


@pytest.mark.parametrize("start, days, end", [
    (date(2026, 3, 16), 3, date(2026, 3, 19)),   # Monday + 3
    (date(2026, 3, 13), 1, date(2026, 3, 16)),   # Friday + 1: Monday
    (date(2026, 3, 14), 5, date(2026, 3, 20)),   # from a Saturday
    (date(2026, 11, 25), 2, date(2026, 11, 30)),  # over Thanksgiving
    (date(2026, 3, 16), 0, date(2026, 3, 16)),
])
def test_business_days_after(start, days, end):
    assert business_days_after(start, days) == end
    assert business_days_between(start, end) == days


def test_the_shipping_times_are_the_help_centers():
    from pathlib import Path

    from bot.orders import EXPRESS_SHIPPING_DAYS, STANDARD_SHIPPING_DAYS

    shipping = (Path(__file__).resolve().parents[1] / "data" / "kb" / "shipping.md").read_text()
    assert "Standard shipping to US addresses takes {}-{} business days".format(*STANDARD_SHIPPING_DAYS) in shipping
    assert "Express shipping takes {}-{} business days".format(*EXPRESS_SHIPPING_DAYS) in shipping


def test_the_opened_electronics_window_is_the_help_centers():
    from pathlib import Path

    from bot.orders import OPENED_ELECTRONICS_WINDOW_DAYS

    returns = (Path(__file__).resolve().parents[1] / "data" / "kb" / "returns.md").read_text()
    assert f"can be returned within {OPENED_ELECTRONICS_WINDOW_DAYS} days from delivery" in returns
