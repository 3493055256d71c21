"""Date arithmetic of the timeline (SPEC §3.1): DUE, NEXT_DUE, months and ages. Pure."""

from __future__ import annotations

import datetime as dt
import functools

_DAY = dt.timedelta(days=1)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day + relativedelta(months=months)`: same result (the day clamps to the month's end).

    Written out because the planner calls it for every student and milestone; a property test
    checks it against dateutil.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = _DAYS_IN_MONTH[month0]
    if month0 == 1 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    return dt.date(year, month0 + 1, min(day.day, last))


def due_date_from(last_iep_date: dt.date | None, iep_due_date: dt.date | None) -> dt.date | None:
    """DUE = iep_due_date, else last_iep_date + 1 year - 1 day (SPEC §3.1)."""
    if iep_due_date is not None:
        return iep_due_date
    if last_iep_date is not None:
        return add_months(last_iep_date, 12) - _DAY
    return None


@functools.lru_cache(maxsize=4096)  # a pure function of a date asked for every student
def next_due_from(meeting: dt.date) -> dt.date:
    """NEXT_DUE = M + 1 year - 1 day."""
    return add_months(meeting, 12) - _DAY


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """`relativedelta(day, birth_date).years` (SPEC §3.2): whole years, a Feb 29 birthday
    counting on Feb 28 in common years, exactly as dateutil does."""
    years = day.year - birth_date.year
    anniversary = add_months(birth_date, 12 * years)
    if day >= birth_date:
        if anniversary > day:
            years -= 1
    elif anniversary < day:
        # Before the birth date dateutil counts toward zero: -11 months is 0 years, not -1.
        years += 1
    return years
