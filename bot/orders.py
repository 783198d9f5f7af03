"""Order look-up, cancellation and refund rules (no Rasa imports).

Every method opens its own session (one unit of work) and returns frozen
dataclasses, never ORM objects.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Callable, ContextManager, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from bot.db.models import Customer, Order, OrderItem, OrderStatus, Refund, RefundItem, RefundStatus, StrEnum
from bot.db.session import lock_for_write, session_scope
from bot.holidays import is_business_day

MAX_ORDER_ID = 99_999_999
MAX_REASON_LENGTH = 1000
_ZIP_RE = re.compile(r"^(\d{5})(?:-\d{4})?$")
# "Orders placed before 14:00 ET on a business day usually ship the same day" (data/kb/shipping.md); order
# times are stored in the store's time (ET), like the support hours.
SAME_DAY_SHIPPING_CUTOFF = time(14, 0)
# Business days from shipping to delivery within the US, first and last (data/kb/shipping.md).
STANDARD_SHIPPING_DAYS = (3, 5)
EXPRESS_SHIPPING_DAYS = (1, 2)
# "Opened electronics ... can be returned within 15 days from delivery" (data/kb/returns.md).
OPENED_ELECTRONICS_WINDOW_DAYS = 15

SessionFactory = Callable[[], ContextManager[Session]]


@dataclass(frozen=True)
class OrderSummary:
    order_id: int
    status: OrderStatus
    carrier: Optional[str]
    tracking_number: Optional[str]
    placed_on: date
    expected_ship_on: date  # when an order placed then usually ships (see expected_ship_day)
    shipped_on: Optional[date]
    delivered_on: Optional[date]
    eta: Optional[date]
    total: Decimal
    customer_email: str
    customer_name: str
    customer_tier: str
    items: Tuple[Tuple[str, int], ...]


@dataclass(frozen=True)
class RefundSummary:
    refund_id: int
    order_id: int
    amount: Decimal
    status: RefundStatus
    created_on: date
    # The names of the order lines it covers when that is not the whole order.
    items: Tuple[str, ...] = ()


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    ALREADY_SHIPPED = "already_shipped"
    ALREADY_DELIVERED = "already_delivered"
    ALREADY_CANCELLED = "already_cancelled"
    RETURNED = "returned"
    NOT_VERIFIED = "not_verified"


class RefundOutcome(StrEnum):
    REQUESTED = "requested"
    PENDING_AGENT_APPROVAL = "pending_agent_approval"
    NOT_DELIVERED = "not_delivered"
    OUTSIDE_WINDOW = "outside_window"
    ALREADY_REQUESTED = "already_requested"
    NOT_VERIFIED = "not_verified"


@dataclass(frozen=True)
class CancelResult:
    outcome: CancelOutcome
    order: Optional[OrderSummary] = None


@dataclass(frozen=True)
class RefundResult:
    outcome: RefundOutcome
    refund: Optional[RefundSummary] = None
    order: Optional[OrderSummary] = None
    # For a refund that may be filed: its amount, and the names of the order lines it would cover when
    # that is not the whole order.
    amount: Optional[Decimal] = None
    items: Tuple[str, ...] = ()

    @property
    def may_be_filed(self) -> bool:
        """The refund can be requested now (filed at once, or for an agent's approval)."""
        return self.outcome in (RefundOutcome.REQUESTED, RefundOutcome.PENDING_AGENT_APPROVAL)


_CANCEL_REFUSALS = {
    OrderStatus.SHIPPED: CancelOutcome.ALREADY_SHIPPED,
    OrderStatus.DELIVERED: CancelOutcome.ALREADY_DELIVERED,
    OrderStatus.CANCELLED: CancelOutcome.ALREADY_CANCELLED,
    OrderStatus.RETURNED: CancelOutcome.RETURNED,
}


_REFUND_STATUS_FOR = {
    RefundOutcome.REQUESTED: RefundStatus.REQUESTED,
    RefundOutcome.PENDING_AGENT_APPROVAL: RefundStatus.PENDING_AGENT_APPROVAL,
}


def valid_order_id(order_id: object) -> bool:
    """True for a plausible order number (a real int in 1..MAX_ORDER_ID)."""
    return isinstance(order_id, int) and not isinstance(order_id, bool) and 1 <= order_id <= MAX_ORDER_ID


def _day(value: Optional[datetime]) -> Optional[date]:
    return value.date() if value is not None else None


def expected_ship_day(placed_at: datetime) -> date:
    """The business day an order placed at ``placed_at`` usually ships: that day before the cutoff, else the
    next business day (Monday to Friday, not a carrier holiday: ``bot.holidays``)."""
    day = placed_at.date()
    if is_business_day(day) and placed_at.time() < SAME_DAY_SHIPPING_CUTOFF:
        return day
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def business_days_after(start: date, days: int) -> date:
    """The business day ``days`` business days after ``start``."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        days -= is_business_day(current)
    return current


def business_days_between(start: date, end: date) -> int:
    """Business days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
    days, current = 0, start
    while current < end:
        current += timedelta(days=1)
        days += is_business_day(current)
    return days


def _order_summary(order: Order) -> OrderSummary:
    customer = order.customer
    return OrderSummary(
        order_id=order.id,
        status=OrderStatus(order.status),
        carrier=str(order.carrier) if order.carrier is not None else None,
        tracking_number=order.tracking_number,
        placed_on=order.placed_at.date(),
        expected_ship_on=expected_ship_day(order.placed_at),
        shipped_on=_day(order.shipped_at),
        delivered_on=_day(order.delivered_at),
        eta=order.eta,
        total=order.total,
        customer_email=customer.email,
        customer_name=customer.name,
        customer_tier=str(customer.tier),
        items=tuple((item.name, item.quantity) for item in order.items),
    )


def _refund_summary(refund: Refund) -> RefundSummary:
    covered = {line.order_item_id for line in refund.items}
    whole = not covered or covered >= {item.id for item in refund.order.items}
    return RefundSummary(
        refund_id=refund.id,
        order_id=refund.order_id,
        amount=refund.amount,
        status=RefundStatus(refund.status),
        created_on=refund.created_at.date(),
        items=() if whole else tuple(line.order_item.name for line in refund.items),
    )


def _line_total(item: OrderItem) -> Decimal:
    return item.unit_price * item.quantity


def _lines_to_refund(order: Order, refunds: Sequence[Refund], names: Optional[Sequence[str]]) -> List[OrderItem]:
    """The order lines a refund would cover: those named (all when ``names`` is None or names none of
    them) that no refund other than a rejected one covers yet."""
    if names is not None and not any(item.name in names for item in order.items):
        names = None
    covered = set()
    for refund in refunds:
        covered |= {line.order_item_id for line in refund.items} or {item.id for item in order.items}
    wanted = [item for item in order.items if names is None or item.name in names]
    return [item for item in wanted if item.id not in covered]


class OrderService:
    """Identity-checked order operations on top of a session factory."""

    def __init__(
        self,
        session_factory: SessionFactory = session_scope,
        refund_approval_threshold: Decimal = Decimal("500"),
        refund_window_days: int = 30,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._session_factory = session_factory
        self.refund_approval_threshold = Decimal(refund_approval_threshold)
        self.refund_window_days = refund_window_days
        self._today = today

    def today(self) -> date:
        """The service's idea of today (fixed in tests), for replies about dates."""
        return self._today()

    @property
    def session_factory(self) -> SessionFactory:
        """The sessions on the orders database (the product catalogue is read from the same one)."""
        return self._session_factory

    def _find(self, session: Session, order_id: object, identity: object,
              lock: bool = False) -> Optional[Order]:
        """The order if ``identity`` (email or ZIP) matches its customer, else None.

        Unknown orders and wrong identities run the same single query and give the same None.
        """
        if not valid_order_id(order_id) or not isinstance(identity, str):
            return None
        identity = identity.strip()
        if not identity:
            return None
        zip_match = _ZIP_RE.match(identity)
        if zip_match:
            matches = Customer.zip_code == zip_match.group(1)
        else:
            matches = Customer.email == identity.lower()
        query = (
            select(Order)
            .join(Order.customer)
            .options(contains_eager(Order.customer), selectinload(Order.items))
            .where(Order.id == order_id, matches)
        )
        if lock:
            # Serialises concurrent cancel/refund calls: BEGIN IMMEDIATE on SQLite, FOR UPDATE elsewhere.
            lock_for_write(session)
            query = query.with_for_update(of=Order)
        return session.execute(query).scalars().first()

    def verify(self, order_id: int, identity: str) -> Optional[OrderSummary]:
        """Order summary if the email/ZIP matches, else None (unknown order looks the same)."""
        if not valid_order_id(order_id):
            return None
        with self._session_factory() as session:
            order = self._find(session, order_id, identity)
            return _order_summary(order) if order is not None else None

    def cancel(self, order_id: int, identity: str) -> CancelResult:
        """Cancel a verified order that is still processing."""
        if not valid_order_id(order_id):
            return CancelResult(CancelOutcome.NOT_VERIFIED)
        with self._session_factory() as session:
            order = self._find(session, order_id, identity, lock=True)
            if order is None:
                return CancelResult(CancelOutcome.NOT_VERIFIED)
            status = OrderStatus(order.status)
            if status is not OrderStatus.PROCESSING:
                return CancelResult(_CANCEL_REFUSALS[status], _order_summary(order))
            order.status = OrderStatus.CANCELLED
            session.flush()
            return CancelResult(CancelOutcome.CANCELLED, _order_summary(order))

    def _refund_decision(self, session: Session, order_id: int, identity: str, lock: bool,
                         items: Optional[Sequence[str]] = None) -> Tuple[RefundResult, List[OrderItem]]:
        """The refund outcome for the order, plus the order lines to refund when a refund may be filed."""
        order = self._find(session, order_id, identity, lock=lock)
        if order is None:
            return RefundResult(RefundOutcome.NOT_VERIFIED), []
        summary = _order_summary(order)
        existing = session.execute(
            select(Refund)
            .options(selectinload(Refund.items))
            .where(Refund.order_id == order.id, Refund.status != RefundStatus.REJECTED)
            .order_by(Refund.id.desc())
        ).scalars().all()
        lines = _lines_to_refund(order, existing, items)
        if existing and not lines:
            covering = next((r for r in existing if not r.items or {i.order_item.name for i in r.items} & set(items or ())),
                            existing[0])
            return RefundResult(RefundOutcome.ALREADY_REQUESTED, _refund_summary(covering), summary), []
        if summary.status is not OrderStatus.DELIVERED or summary.delivered_on is None:
            return RefundResult(RefundOutcome.NOT_DELIVERED, order=summary), []
        if (self._today() - summary.delivered_on).days > self.refund_window_days:
            return RefundResult(RefundOutcome.OUTSIDE_WINDOW, order=summary), []
        amount = sum((_line_total(item) for item in lines), Decimal("0"))
        part = () if len(lines) == len(order.items) else tuple(item.name for item in lines)
        outcome = RefundOutcome.PENDING_AGENT_APPROVAL if amount > self.refund_approval_threshold else RefundOutcome.REQUESTED
        return RefundResult(outcome, order=summary, amount=amount, items=part), lines

    def refund_eligibility(self, order_id: int, identity: str, items: Optional[Sequence[str]] = None) -> RefundResult:
        """What :meth:`request_refund` would do right now, without writing anything.

        ``items`` names the order lines wanted (None: all not refunded yet). ``refund`` is the existing
        refund for ``already_requested`` and None otherwise.
        """
        if not valid_order_id(order_id):
            return RefundResult(RefundOutcome.NOT_VERIFIED)
        with self._session_factory() as session:
            return self._refund_decision(session, order_id, identity, lock=False, items=items)[0]

    def request_refund(self, order_id: int, identity: str, reason: Optional[str] = None,
                       items: Optional[Sequence[str]] = None) -> RefundResult:
        """Open a refund for the named order lines (all not refunded yet when ``items`` is None) if the
        order qualifies; its amount is what those lines cost."""
        if not valid_order_id(order_id):
            return RefundResult(RefundOutcome.NOT_VERIFIED)
        with self._session_factory() as session:
            result, lines = self._refund_decision(session, order_id, identity, lock=True, items=items)
            if not lines:
                return result
            refund = Refund(
                order=lines[0].order,
                amount=result.amount,
                status=_REFUND_STATUS_FOR[result.outcome],
                reason=(reason.strip()[:MAX_REASON_LENGTH] or None) if reason else None,
                items=[RefundItem(order_item=item, amount=_line_total(item)) for item in lines],
            )
            session.add(refund)
            session.flush()
            return dataclasses.replace(result, refund=_refund_summary(refund))

    def refunds(self, order_id: int, identity: str) -> Optional[List[RefundSummary]]:
        """All refunds of a verified order, oldest first; None when not verified."""
        if not valid_order_id(order_id):
            return None
        with self._session_factory() as session:
            order = self._find(session, order_id, identity)
            if order is None:
                return None
            rows = session.execute(
                select(Refund).where(Refund.order_id == order.id).order_by(Refund.created_at, Refund.id)
            ).scalars()
            return [_refund_summary(refund) for refund in rows]
