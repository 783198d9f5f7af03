"""Deterministic Brightbay demo data, with dates relative to a given ``today``.

Usage: ``python -m bot.db.seed [--reset] [--database-url URL]``
"""
from __future__ import annotations

import argparse
import random
import string
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import (
    Base,
    Carrier,
    Customer,
    CustomerTier,
    DemoMeta,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    Refund,
    RefundItem,
    RefundStatus,
)
from bot.db.session import acquire_setup_lock, session_scope

SEED = 20240611
FIRST_ORDER_ID = 10001
ORDER_COUNT = 300
CUSTOMER_COUNT = 50
VIP_COUNT = 5
SEEDED_ON_KEY = "seeded_on"

# (sku, name, unit price)
CatalogEntry = Tuple[str, str, str]
CATALOG: Tuple[CatalogEntry, ...] = (
    ("EL-1001", "Aurora Wireless Earbuds", "79.99"),
    ("EL-1002", "Noise-Cancelling Over-Ear Headphones", "249.00"),
    ("EL-1003", "Portable Bluetooth Speaker", "69.95"),
    ("EL-1004", "USB-C Charging Cable (2 m)", "19.95"),
    ("EL-1005", "65 W GaN USB-C Charger", "44.99"),
    ("EL-1006", "10,000 mAh Power Bank", "34.99"),
    ("EL-1007", "Brightview 65\" 4K QLED TV", "1249.00"),
    ("EL-1008", "Soundbar with Wireless Subwoofer", "329.00"),
    ("EL-1009", "Aurora 14\" Laptop, 16 GB RAM", "1099.00"),
    ("EL-1010", "27\" 1440p IPS Monitor", "299.99"),
    ("EL-1011", "Mechanical Keyboard, Brown Switches", "89.00"),
    ("EL-1012", "Ergonomic Wireless Mouse", "39.99"),
    ("EL-1013", "1080p Webcam with Privacy Shutter", "59.00"),
    ("EL-1014", "Fitness Tracker Band", "99.00"),
    ("EL-1015", "Smartwatch Series 4, 44 mm", "279.00"),
    ("EL-1016", "E-Reader, 7\" Glare-Free", "139.99"),
    ("EL-1017", "Mesh Wi-Fi System (3-pack)", "229.00"),
    ("EL-1018", "1 TB Portable SSD", "109.99"),
    ("HM-2001", "Wi-Fi Smart Thermostat", "120.00"),
    ("HM-2002", "Smart LED Bulb (4-pack)", "42.00"),
    ("HM-2003", "Robot Vacuum with Self-Empty Base", "549.00"),
    ("HM-2004", "Espresso Machine with Grinder", "649.99"),
    ("HM-2005", "Cordless Stick Vacuum", "299.00"),
    ("HM-2006", "HEPA Air Purifier, Large Room", "189.00"),
    ("HM-2007", "Cast-Iron Dutch Oven, 5.5 qt", "79.50"),
    ("HM-2008", "Chef's Knife, 8\"", "64.00"),
    ("HM-2009", "Bamboo Cutting Board Set", "29.99"),
    ("HM-2010", "Linen Duvet Cover, Queen", "149.00"),
    ("HM-2011", "Memory Foam Pillow", "49.00"),
    ("HM-2012", "Ceramic Pour-Over Coffee Set", "38.00"),
    ("HM-2013", "Video Doorbell", "129.99"),
    ("HM-2014", "Electric Kettle, 1.7 L", "54.99"),
    ("OD-3001", "Ultralight 2-Person Tent", "389.00"),
    ("OD-3002", "Down Sleeping Bag, 20 F", "259.00"),
    ("OD-3003", "Insulated Water Bottle, 1 L", "24.50"),
    ("OD-3004", "Carabiner Set (3-pack)", "10.00"),
    ("OD-3005", "Trail Headlamp, 400 lm", "44.95"),
    ("OD-3006", "Hiking Daypack, 28 L", "89.00"),
    ("OD-3007", "Trekking Poles (pair)", "74.00"),
    ("OD-3008", "Camp Stove with Fuel Canister", "64.99"),
    ("OD-3009", "Folding Camp Chair", "49.95"),
    ("OD-3010", "Portable Solar Panel, 60 W", "179.00"),
    ("OD-3011", "Rain Shell Jacket", "159.00"),
    ("OD-3012", "Inflatable Kayak, 2-Person", "429.00"),
    ("OD-3013", "Cooler, 45 qt", "219.00"),
)
_BY_SKU = {sku: (name, Decimal(price)) for sku, name, price in CATALOG}
CATEGORIES = {"EL": "electronics", "HM": "home", "OD": "outdoor"}

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Elijah", "Isabella", "Lucas",
    "Mia", "Mason", "Amelia", "Ethan", "Harper", "Aiden", "Priya", "Kenji", "Fatima", "Diego",
    "Chloe", "Samuel", "Zoe", "Omar", "Grace", "Leo", "Hannah", "Ravi", "Nora", "Tomas",
)
LAST_NAMES = (
    "Johnson", "Patel", "Kim", "Garcia", "Müller", "Rossi", "Chen", "Williams", "Novak", "Silva",
    "Brown", "Haddad", "Lopez", "Andersen", "Tanaka", "O'Brien", "Kowalski", "Mensah", "Reyes",
    "Schmidt", "Ibrahim", "Costa", "Walker", "Dubois", "Larsen", "Moreau", "Singh", "Park",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
REFUND_REASONS = (
    "Item arrived damaged",
    "Wrong size",
    "Changed my mind",
    "Does not match the description",
    "Stopped working after a week",
    None,
)

_STATUS_WEIGHTS = (
    (OrderStatus.DELIVERED, 45),
    (OrderStatus.SHIPPED, 15),
    (OrderStatus.PROCESSING, 15),
    (OrderStatus.CANCELLED, 10),
    (OrderStatus.RETURNED, 15),
)


@dataclass(frozen=True)
class SeedStats:
    customers: int
    orders: int
    items: int
    refunds: int


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def _items(*lines: Tuple[str, int]) -> List[OrderItem]:
    return [
        OrderItem(sku=sku, name=_BY_SKU[sku][0], quantity=qty, unit_price=_BY_SKU[sku][1])
        for sku, qty in lines
    ]


def _total(items: Sequence[OrderItem]) -> Decimal:
    return sum((item.unit_price * item.quantity for item in items), Decimal("0.00"))


def _demo_customers(today: date) -> List[Customer]:
    rows = (
        ("alice@example.com", "Alice Martin", "94110", 720),
        ("bob@example.com", "Bob Nguyen", "10001", 540),
        ("carol@example.com", "Carol Diaz", "60614", 410),
        ("dave@example.com", "Dave Okafor", "73301", 260),
    )
    return [
        Customer(email=email, name=name, zip_code=zip_code, tier=CustomerTier.STANDARD,
                 created_at=_at(today - timedelta(days=age), 9, 30))
        for email, name, zip_code, age in rows
    ]


def _demo_orders(today: date, alice: Customer, bob: Customer, carol: Customer,
                 dave: Customer) -> List[Order]:
    d = lambda days: today - timedelta(days=days)  # noqa: E731
    orders = [
        Order(id=10001, customer=alice, status=OrderStatus.SHIPPED, placed_at=_at(d(3), 18, 42),
              shipped_at=_at(d(1), 16, 5), carrier=Carrier.UPS,
              tracking_number="1Z999AA10123456784", eta=today + timedelta(days=2),
              items=_items(("EL-1003", 1), ("EL-1004", 1))),
        Order(id=10002, customer=bob, status=OrderStatus.PROCESSING, placed_at=_at(d(1), 20, 17),
              items=_items(("EL-1007", 1))),
        Order(id=10003, customer=alice, status=OrderStatus.DELIVERED, placed_at=_at(d(10), 12, 3),
              shipped_at=_at(d(8), 15, 40), delivered_at=_at(d(5), 13, 22),
              carrier=Carrier.USPS, tracking_number="9400111899223344556677", eta=d(5),
              items=_items(("OD-3003", 1), ("OD-3004", 1))),
        Order(id=10004, customer=carol, status=OrderStatus.DELIVERED, placed_at=_at(d(16), 9, 51),
              shipped_at=_at(d(14), 17, 12), delivered_at=_at(d(10), 11, 48),
              carrier=Carrier.UPS, tracking_number="1Z4F82E70398765432", eta=d(10),
              items=_items(("HM-2004", 1))),
        Order(id=10005, customer=dave, status=OrderStatus.CANCELLED, placed_at=_at(d(6), 8, 14),
              items=_items(("HM-2001", 1))),
    ]
    for order in orders:
        order.total = _total(order.items)
    return orders


def _random_customers(rng: random.Random, today: date) -> List[Customer]:
    count = CUSTOMER_COUNT - 4
    vip = set(rng.sample(range(count), VIP_COUNT))
    emails: List[str] = []
    customers = []
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "").replace("ü", "ue")
        email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        suffix = 2
        while email in emails:
            email = f"{local}{suffix}@{email.split('@')[1]}"
            suffix += 1
        emails.append(email)
        created = today - timedelta(days=rng.randint(120, 1500))
        customers.append(Customer(
            email=email, name=f"{first} {last}", zip_code=f"{rng.randint(1001, 99950):05d}",
            tier=CustomerTier.VIP if index in vip else CustomerTier.STANDARD,
            created_at=_at(created, rng.randint(7, 22), rng.randint(0, 59)),
        ))
    return customers


def _tracking_number(rng: random.Random, carrier: Carrier) -> str:
    if carrier is Carrier.UPS:
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    return "94" + "".join(rng.choices(string.digits, k=20))


def _random_items(rng: random.Random) -> List[OrderItem]:
    count = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
    lines = []
    for sku, _name, price in rng.sample(CATALOG, count):
        qty = rng.choice((1, 1, 1, 2, 3)) if Decimal(price) < 60 else 1
        lines.append((sku, qty))
    return _items(*lines)


def _random_order(rng: random.Random, order_id: int, customer: Customer, today: date) -> Order:
    status = rng.choices([s for s, _ in _STATUS_WEIGHTS], weights=[w for _, w in _STATUS_WEIGHTS])[0]
    # Order ages keep every timestamp in the past and every ETA of a shipped order in the future.
    age = {
        OrderStatus.PROCESSING: (1, 3),
        OrderStatus.SHIPPED: (2, 6),
        OrderStatus.DELIVERED: (8, 150),
        OrderStatus.CANCELLED: (1, 150),
        OrderStatus.RETURNED: (20, 150),
    }[status]
    placed_day = today - timedelta(days=rng.randint(*age))
    order = Order(id=order_id, customer=customer, status=status,
                  placed_at=_at(placed_day, rng.randint(7, 22), rng.randint(0, 59)),
                  items=_random_items(rng))
    order.total = _total(order.items)
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.RETURNED):
        order.carrier = rng.choice((Carrier.UPS, Carrier.USPS))
        order.tracking_number = _tracking_number(rng, order.carrier)
        shipped_day = placed_day + timedelta(days=1 if status is OrderStatus.SHIPPED else rng.randint(1, 2))
        order.shipped_at = _at(shipped_day, rng.randint(9, 19), rng.randint(0, 59))
        if status is OrderStatus.SHIPPED:
            order.eta = today + timedelta(days=rng.randint(1, 4))
        else:
            delivered_day = shipped_day + timedelta(days=rng.randint(2, 5))
            order.delivered_at = _at(delivered_day, rng.randint(9, 19), rng.randint(0, 59))
            order.eta = delivered_day
    return order


def _refund(rng: random.Random, order: Order, status: RefundStatus, today: date) -> Refund:
    # delivered_at is at latest yesterday evening, so capping at midnight keeps order and past.
    cap = datetime.combine(today, time.min)
    created = min(order.delivered_at + timedelta(hours=rng.randint(1, 60)), cap)
    updated = created
    if status in (RefundStatus.APPROVED, RefundStatus.REJECTED, RefundStatus.PAID):
        updated = min(created + timedelta(hours=rng.randint(4, 72)), cap)
    return Refund(order=order, amount=order.total, status=status,
                  reason=rng.choice(REFUND_REASONS), created_at=created, updated_at=updated)


def _random_refunds(rng: random.Random, orders: Sequence[Order], today: date) -> List[Refund]:
    returned = [o for o in orders if o.status is OrderStatus.RETURNED]
    recent = [o for o in orders if o.status is OrderStatus.DELIVERED
              and (today - o.delivered_at.date()).days <= 30]
    refunds = [_refund(rng, o, s, today) for o, s in zip(
        rng.sample(returned, 4),
        (RefundStatus.PAID, RefundStatus.PAID, RefundStatus.APPROVED, RefundStatus.APPROVED))]
    big = [o for o in recent if o.total > Decimal("500")]
    small = [o for o in recent if o.total <= Decimal("500")]
    if big:
        refunds.append(_refund(rng, rng.choice(big), RefundStatus.PENDING_AGENT_APPROVAL, today))
    refunds += [_refund(rng, o, s, today) for o, s in zip(
        rng.sample(small, min(3, len(small))),
        (RefundStatus.REQUESTED, RefundStatus.REJECTED, RefundStatus.REQUESTED))]
    return refunds


def seed_demo_data(session: Session, today: Optional[date] = None) -> SeedStats:
    """Insert the full demo data set (expects empty tables) and record the seed date."""
    today = today or date.today()
    rng = random.Random(SEED)
    demo_customers = _demo_customers(today)
    others = _random_customers(rng, today)
    customers = demo_customers + others
    orders = _demo_orders(today, *demo_customers)
    random_orders = [
        _random_order(rng, order_id, rng.choice(others), today)
        for order_id in range(FIRST_ORDER_ID + len(orders), FIRST_ORDER_ID + ORDER_COUNT)
    ]
    orders += random_orders
    # Demo orders never get refunds, so the scripted conversations stay predictable.
    refunds = _random_refunds(rng, random_orders, today)

    session.add_all(
        Product(sku=sku, name=name, category=CATEGORIES[sku[:2]], price=Decimal(price))
        for sku, name, price in CATALOG
    )
    session.add_all(customers)
    session.add_all(orders)
    session.add_all(refunds)
    session.merge(DemoMeta(key=SEEDED_ON_KEY, value=today.isoformat()))
    session.flush()
    return SeedStats(customers=len(customers), orders=len(orders),
                     items=sum(len(o.items) for o in orders), refunds=len(refunds))


def wipe_demo_data(session: Session) -> None:
    """Delete all rows from the demo tables, children first."""
    for model in (RefundItem, Refund, OrderItem, Order, Customer, Product, DemoMeta):
        session.execute(delete(model))


def ensure_demo_data(url: Optional[str] = None, today: Optional[date] = None,
                     reset: bool = False) -> str:
    """Create the schema and (re)seed unless today's demo data is already there."""
    today = today or date.today()
    with session_scope(url) as session:
        # A second process starting at the same time waits here, then finds fresh data.
        acquire_setup_lock(session)
        Base.metadata.create_all(session.connection())
        meta = session.get(DemoMeta, SEEDED_ON_KEY)
        seeded_on = meta.value if meta is not None else None
        has_orders = session.execute(select(Order.id).limit(1)).first() is not None
        has_products = session.execute(select(Product.sku).limit(1)).first() is not None
        if not reset and has_orders and has_products and seeded_on == today.isoformat():
            return f"demo data up to date ({seeded_on})"
        wipe_demo_data(session)
        stats = seed_demo_data(session, today)
    return f"seeded {stats.customers} customers, {stats.orders} orders ({today.isoformat()})"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.db.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="wipe and re-seed even if up to date")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: $DATABASE_URL or var/brightbay.db)")
    args = parser.parse_args(argv)
    print(ensure_demo_data(args.database_url, reset=args.reset))
    return 0


if __name__ == "__main__":
    sys.exit(main())
