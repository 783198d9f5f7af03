"""bot.dates: past dates as customers write them."""
from datetime import date

import pytest

from bot.dates import date_said

TODAY = date(2026, 3, 15)  # a Sunday


@pytest.mark.parametrize("text, expected", [
    ("i got it on the 10th, is it too late?", date(2026, 3, 10)),
    ("it arrived on the 20th", date(2026, 2, 20)),  # the 20th is still to come this month: last month's
    ("delivered march 3rd", date(2026, 3, 3)),
    ("it came on 2 Feb", date(2026, 2, 2)),
    ("received it dec. 28", date(2025, 12, 28)),
    ("got it in the mail on april 2", date(2025, 4, 2)),  # still to come this year: last year's
    ("it showed up 2 weeks ago", date(2026, 3, 1)),
    ("arrived a few days ago", date(2026, 3, 12)),
    ("got it yesterday", date(2026, 3, 14)),
    ("it came on friday", date(2026, 3, 13)),
    ("delivered last sunday", date(2026, 3, 8)),  # a week back, not today
    ("it arrived 3/2", date(2026, 3, 2)),
])
def test_dates_customers_write(text, expected):
    assert date_said(text, TODAY) == expected


@pytest.mark.parametrize("text", [
    "may i still return it?", "is it too late?", "order 10001", "it arrived on february 30", "the 45th", "",
    "it costs $3/4 of the price",
])
def test_no_date(text):
    assert date_said(text, TODAY) is None
