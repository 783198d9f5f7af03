"""Past dates as customers write them ("on the 10th", "march 3rd", "2 weeks ago", "last friday"), read relative to
today. No Rasa imports."""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Optional

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = [name.lower() for name in calendar.day_name]
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10, "couple of": 2, "a couple of": 2, "few": 3, "a few": 3}
_COUNT = r"(\d{1,3}|" + "|".join(sorted(map(re.escape, _COUNTS), key=len, reverse=True)) + r")"

_AGO = re.compile(_COUNT + r" (day|week)s? ago\b", re.IGNORECASE)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r" (\d{1,2})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)? (?:of )?" + _MONTH + r"\b", re.IGNORECASE)
_ORDINAL = re.compile(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)
_NUMERIC = re.compile(r"(?<![\d/$])(\d{1,2})/(\d{1,2})(?![\d/])")  # US month/day
_WEEKDAY = re.compile(r"\b(?:on|last|this past) (" + "|".join(_WEEKDAYS) + r")\b", re.IGNORECASE)
_RELATIVE = re.compile(r"\b(today|yesterday|last week)\b", re.IGNORECASE)


def date_said(text: str, today: date) -> Optional[date]:
    """The past date ``text`` names, or None. A day without a month is in this month or, when that day is still
    to come, the month before; a month and day still to come this year are last year's."""
    for reader in (_relative, _ago, _month_and_day, _ordinal, _numeric, _weekday):
        found = reader(text, today)
        if found is not None:
            return found
    return None


def _relative(text: str, today: date) -> Optional[date]:
    match = _RELATIVE.search(text)
    if not match:
        return None
    return today - timedelta(days={"today": 0, "yesterday": 1, "last week": 7}[match.group(1).lower()])


def _ago(text: str, today: date) -> Optional[date]:
    match = _AGO.search(text)
    if not match:
        return None
    count = match.group(1).lower()
    number = int(count) if count.isdigit() else _COUNTS[count]
    return today - timedelta(days=number * (7 if match.group(2).lower() == "week" else 1))


def _month_and_day(text: str, today: date) -> Optional[date]:
    match = _MONTH_DAY.search(text)
    if match:
        month, day_of_month = _MONTHS[match.group(1).lower()], int(match.group(2))
    else:
        match = _DAY_MONTH.search(text)
        if not match:
            return None
        day_of_month, month = int(match.group(1)), _MONTHS[match.group(2).lower()]
    return _past(today.year, month, day_of_month, today)


def _ordinal(text: str, today: date) -> Optional[date]:
    match = _ORDINAL.search(text)
    if not match:
        return None
    month, year = today.month, today.year
    if int(match.group(1)) > today.day:
        month, year = (12, year - 1) if month == 1 else (month - 1, year)
    return _valid(year, month, int(match.group(1)))


def _numeric(text: str, today: date) -> Optional[date]:
    match = _NUMERIC.search(text)
    return _past(today.year, int(match.group(1)), int(match.group(2)), today) if match else None


def _weekday(text: str, today: date) -> Optional[date]:
    match = _WEEKDAY.search(text)
    if not match:
        return None
    back = (today.weekday() - _WEEKDAYS.index(match.group(1).lower())) % 7 or 7
    return today - timedelta(days=back)


def _past(year: int, month: int, day_of_month: int, today: date) -> Optional[date]:
    found = _valid(year, month, day_of_month)
    if found is not None and found > today:
        found = _valid(year - 1, month, day_of_month)
    return found


def _valid(year: int, month: int, day_of_month: int) -> Optional[date]:
    try:
        return date(year, month, day_of_month)
    except ValueError:  # "february 30", "13/45"
        return None
