"""bot.holidays: the carriers' holidays, on the days they are observed."""
from datetime import date

import pytest

from bot.holidays import carrier_holidays, holiday_on, is_business_day


def test_the_six_holidays_of_2026():
    assert carrier_holidays(2026) == {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 5, 25): "Memorial Day",       # the last Monday of May
        date(2026, 7, 3): "Independence Day",    # July 4th is a Saturday: observed on the Friday
        date(2026, 9, 7): "Labor Day",           # the first Monday of September
        date(2026, 11, 26): "Thanksgiving",      # the fourth Thursday of November
        date(2026, 12, 25): "Christmas",
    }


@pytest.mark.parametrize("day, name", [
    (date(2023, 1, 2), "New Year's Day"),       # a Sunday: observed on the Monday
    (date(2021, 12, 31), "New Year's Day"),     # January 1st 2022 is a Saturday: observed the Friday before
    (date(2022, 12, 26), "Christmas"),          # a Sunday
    (date(2024, 11, 28), "Thanksgiving"),
    (date(2027, 5, 31), "Memorial Day"),
])
def test_observed_days_in_other_years(day, name):
    assert holiday_on(day) == name and not is_business_day(day)


@pytest.mark.parametrize("day, business", [
    (date(2026, 11, 27), True),   # the Friday after Thanksgiving is a working day
    (date(2026, 7, 4), False),    # a Saturday
    (date(2026, 2, 16), True),    # Presidents' Day: carriers work
    (date(2026, 3, 16), True),
])
def test_business_days(day, business):
    assert is_business_day(day) is business
