"""The days our carriers (UPS and USPS) and the warehouse don't work besides weekends: New Year's Day, Memorial Day,
Independence Day, Labor Day, Thanksgiving and Christmas, each on the weekday it is observed. No Rasa imports."""
from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Dict, Optional


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday 0) of the month; ``n`` = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A fixed-date holiday on a Saturday is observed on the Friday before, on a Sunday on the Monday after."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@functools.lru_cache(maxsize=16)
def carrier_holidays(year: int) -> Dict[date, str]:
    """The observed carrier holidays of ``year``, by date, with their names."""
    found = {
        _observed(date(year, 1, 1)): "New Year's Day",
        _nth_weekday(year, 5, 0, -1): "Memorial Day",
        _observed(date(year, 7, 4)): "Independence Day",
        _nth_weekday(year, 9, 0, 1): "Labor Day",
        _nth_weekday(year, 11, 3, 4): "Thanksgiving",
        _observed(date(year, 12, 25)): "Christmas",
    }
    # New Year's Day of next year on a Saturday is observed on this year's December 31.
    next_new_year = _observed(date(year + 1, 1, 1))
    if next_new_year.year == year:
        found[next_new_year] = "New Year's Day"
    return found


def holiday_on(day: date) -> Optional[str]:
    """The name of the carrier holiday observed on ``day``, or None."""
    return carrier_holidays(day.year).get(day)


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a carrier holiday."""
    return day.weekday() < 5 and holiday_on(day) is None
