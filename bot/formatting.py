"""How amounts and dates read in the assistant's replies."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional


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
