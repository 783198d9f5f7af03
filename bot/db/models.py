"""Declarative models for customers, orders, order items, refunds and the order lines they cover, and the
product catalogue.

Datetimes are naive and in store-local time; enums are stored as plain
strings (VARCHAR + CHECK) so SQLite and PostgreSQL behave the same.
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Optional, Type

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine
from sqlalchemy.orm import declarative_base, relationship, validates

Base = declarative_base()

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """NUMERIC(10, 2) holding ``Decimal`` amounts, exact on every backend.

    SQLite has no decimal type (plain ``Numeric`` warns about float rounding);
    there the value travels as a float, and any amount of at most 15 digits
    survives ``Decimal(str(float))`` exactly.
    """

    impl = Numeric(10, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(10, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(10, 2))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Optional[Decimal]:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)

    def process_result_value(self, value: Any, dialect: Dialect) -> Optional[Decimal]:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


class StrEnum(str, enum.Enum):
    """String enum whose ``str()`` is its value (Python 3.10 has no ``enum.StrEnum``)."""

    def __str__(self) -> str:
        return self.value


class CustomerTier(StrEnum):
    STANDARD = "standard"
    VIP = "vip"


class OrderStatus(StrEnum):
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    PENDING_AGENT_APPROVAL = "pending_agent_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


class Carrier(StrEnum):
    UPS = "UPS"
    USPS = "USPS"


def _string_enum(enum_cls: Type[enum.Enum], name: str) -> Enum:
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
    )


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("email = lower(email)", name="ck_customers_email_lower"),)

    id = Column(Integer, primary_key=True)
    email = Column(String(255), nullable=False, unique=True, index=True)
    name = Column(String(120), nullable=False)
    zip_code = Column(String(5), nullable=False)
    tier = Column(
        _string_enum(CustomerTier, "ck_customers_tier"), nullable=False, default=CustomerTier.STANDARD
    )
    created_at = Column(DateTime, nullable=False, default=datetime.now)

    orders = relationship("Order", back_populates="customer", order_by="Order.id")

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return value.strip().lower()

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.email}>"


class Order(Base):
    __tablename__ = "orders"

    # The public order number is assigned by the store, not by a DB sequence.
    id = Column(Integer, primary_key=True, autoincrement=False)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    status = Column(_string_enum(OrderStatus, "ck_orders_status"), nullable=False)
    placed_at = Column(DateTime, nullable=False)
    shipped_at = Column(DateTime, nullable=True)
    delivered_at = Column(DateTime, nullable=True)
    carrier = Column(_string_enum(Carrier, "ck_orders_carrier"), nullable=True)
    tracking_number = Column(String(40), nullable=True)
    eta = Column(Date, nullable=True)
    total = Column(Money(), nullable=False)

    customer = relationship("Customer", back_populates="orders")
    items = relationship(
        "OrderItem", back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    refunds = relationship(
        "Refund", back_populates="order", cascade="all, delete-orphan", order_by="Refund.id"
    )

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status}>"


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_order_items_quantity_positive"),)

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    sku = Column(String(32), nullable=False)
    name = Column(String(200), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price = Column(Money(), nullable=False)

    order = relationship("Order", back_populates="items")


class Refund(Base):
    __tablename__ = "refunds"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    amount = Column(Money(), nullable=False)
    status = Column(_string_enum(RefundStatus, "ck_refunds_status"), nullable=False)
    reason = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=datetime.now)
    updated_at = Column(DateTime, nullable=False, default=datetime.now, onupdate=datetime.now)

    order = relationship("Order", back_populates="refunds")
    # The order lines it covers. A refund with none covers the whole order (refunds filed before lines
    # were recorded, and the seeded ones).
    items = relationship("RefundItem", back_populates="refund", cascade="all, delete-orphan", order_by="RefundItem.id")

    def __repr__(self) -> str:
        return f"<Refund {self.id} order={self.order_id} {self.status}>"


class RefundItem(Base):
    """One order line a refund covers, with the amount refunded for it."""

    __tablename__ = "refund_items"

    id = Column(Integer, primary_key=True)
    refund_id = Column(Integer, ForeignKey("refunds.id", ondelete="CASCADE"), nullable=False, index=True)
    order_item_id = Column(Integer, ForeignKey("order_items.id", ondelete="CASCADE"), nullable=False, index=True)
    amount = Column(Money(), nullable=False)

    refund = relationship("Refund", back_populates="items")
    order_item = relationship("OrderItem")


class Product(Base):
    """A catalogue item: what Brightbay sells and its current price (the product page has the rest)."""

    __tablename__ = "products"

    sku = Column(String(32), primary_key=True)
    name = Column(String(200), nullable=False)
    category = Column(String(32), nullable=False)  # electronics, home or outdoor
    price = Column(Money(), nullable=False)

    def __repr__(self) -> str:
        return f"<Product {self.sku} {self.name!r}>"


class DemoMeta(Base):
    """Small key/value table describing the demo data set (e.g. the seed date)."""

    __tablename__ = "demo_meta"

    key = Column(String(64), primary_key=True)
    value = Column(String(255), nullable=False)


class HandoffStatus(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    RESOLVED = "resolved"


class Handoff(Base):
    """A conversation handed to the live agents: why, how urgent, the summary card, who has it."""

    __tablename__ = "handoffs"
    __table_args__ = (CheckConstraint("priority BETWEEN 1 AND 3", name="ck_handoffs_priority"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(64), nullable=False, default="rest")
    reasons = Column(Text, nullable=False)  # JSON list of reason codes
    priority = Column(Integer, nullable=False, default=1)
    summary = Column(Text, nullable=False)  # JSON summary card
    status = Column(
        _string_enum(HandoffStatus, "ck_handoffs_status"), nullable=False, default=HandoffStatus.QUEUED, index=True
    )
    claimed_by = Column(String(64), nullable=True)
    after_hours = Column(Integer, nullable=False, default=0)  # 1 when the customer left a message out of hours
    order_id = Column(Integer, nullable=True)
    # The pending_agent_approval refund this handoff is about, if any.
    refund_id = Column(Integer, ForeignKey("refunds.id", ondelete="SET NULL"), nullable=True, index=True)
    created_at = Column(DateTime, nullable=False, default=datetime.now)
    claimed_at = Column(DateTime, nullable=True)
    resolved_at = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=datetime.now, onupdate=datetime.now)

    refund = relationship("Refund")
    notes = relationship(
        "HandoffNote", back_populates="handoff", cascade="all, delete-orphan", order_by="HandoffNote.id"
    )

    def __repr__(self) -> str:
        return f"<Handoff {self.id} {self.conversation_id} {self.status}>"


class HandoffNote(Base):
    """An agent's internal note on a handoff; never shown to the customer."""

    __tablename__ = "handoff_notes"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    author = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=datetime.now)

    handoff = relationship("Handoff", back_populates="notes")


class CsatRating(Base):
    """A customer's 1-5 rating of a conversation (asked after goodbye / thanks / hand-back), with an optional comment."""

    __tablename__ = "csat_ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="ck_csat_ratings_score"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(64), nullable=True)
    score = Column(Integer, nullable=False)
    comment = Column(Text, nullable=True)
    # 1 when a live agent took part in the conversation (a handoff happened before the rating).
    agent_handled = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=datetime.now, index=True)
    updated_at = Column(DateTime, nullable=False, default=datetime.now, onupdate=datetime.now)

    def __repr__(self) -> str:
        return f"<CsatRating {self.id} {self.conversation_id} {self.score}>"
