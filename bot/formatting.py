"""How amounts and dates read in the assistant's replies."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional, Sequence, Tuple


def money(amount: Decimal) -> str:
    """$1,249.00"""
    return f"${Decimal(amount):,.2f}"


def day(value: date, today: Optional[date] = None) -> str:
    """'today', 'tomorrow', 'yesterday', or 'on Tuesday, November 24', to follow a verb."""
    if today is not None:
        delta = (value - today).days
        if delta == 0:
            return "today"
        if delta == 1:
            return "tomorrow"
        if delta == -1:
            return "yesterday"
    return f"on {value:%A, %B} {value.day}"


def items_list(items: Sequence[Tuple[str, int]], shown: int = 3) -> str:
    """'Ultralight 2-Person Tent; 2 x Folding Camp Chair' (semicolons: product names hold commas),
    at most ``shown`` lines, then 'and 2 more items'."""
    lines = [name if quantity == 1 else f"{quantity} x {name}" for name, quantity in items]
    text = "; ".join(lines[:shown])
    hidden = len(lines) - shown
    if hidden > 0:
        text += f"; and {hidden} more item{'s' if hidden > 1 else ''}"
    return text
