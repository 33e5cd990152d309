"""Letter deadlines: each committee's rule, California's state holidays, and the deadline of a hearing.

Committees set their own deadline for position letters (DOMAIN.md §1.6): a number of business or calendar days
before the hearing, or a weekday and time before it. Everything here is computed on dates in Pacific time, and only
the final deadline (a local date and time) is turned into UTC, so the change to and from daylight saving time
cannot shift a deadline by an hour.

Which days count as business days: Monday to Friday, except the days the Capitol is closed. Those are the holidays
the Legislature's calendar observes (the Secretary of the Senate's tentative legislative calendar), which are the
state's paid holidays (Gov. Code §19853, CalHR's yearly list): New Year's Day, Martin Luther King, Jr. Day,
Presidents' Day (third Monday of February), Cesar Chavez Day (March 31), Memorial Day, Independence Day, Labor Day,
Veterans Day, Thanksgiving and the day after, and Christmas. A holiday on a Sunday is observed the Monday after
(Gov. Code §6701), one on a Saturday the Friday before, as the legislative calendar does (2018: "Mar. 30 Cesar Chavez
Day observed"). Gov. Code §6700 names more "holidays in this state" (Lincoln Day, Lunar New Year, Genocide
Remembrance Day, Juneteenth, Admission Day, Native American Day, Columbus Day, Diwali, Good Friday afternoon), but
the Legislature dropped Lincoln Day and Columbus Day and the others are optional for state staff: the Capitol stays
open, so they are business days here. A deadline a rule puts on a weekend or holiday moves to the business day
before: earlier is always safe, and nobody reads a committee's mail on a closed day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from advocacy.campaigns.console_models import RuleKind

CALIFORNIA = ZoneInfo("America/Los_Angeles")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
END_OF_BUSINESS = time(17, 0)


class RuleError(ValueError):
    """A deadline rule that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class DeadlineRule:
    kind: RuleKind
    days: int = 0
    weekday: int = 0  # Monday 0 … Sunday 6
    at: time = END_OF_BUSINESS

    def __post_init__(self) -> None:
        if self.kind in (RuleKind.BUSINESS_DAYS, RuleKind.CALENDAR_DAYS) and not 1 <= self.days <= 60:
            raise RuleError("the number of days before the hearing must be between 1 and 60")
        if self.kind in (RuleKind.WEEKDAY_BEFORE, RuleKind.WEEKDAY_PRIOR_WEEK) and not 0 <= self.weekday <= 6:
            raise RuleError("the weekday must be Monday (0) to Sunday (6)")

    def describe(self) -> str:
        """ "5 business days before the hearing, 5:00 p.m." and the like."""
        when = clock(self.at)
        if self.kind is RuleKind.BUSINESS_DAYS:
            return f"{when}, {self.days} business day{'s' * (self.days != 1)} before the hearing"
        if self.kind is RuleKind.CALENDAR_DAYS:
            return f"{when}, {self.days} calendar day{'s' * (self.days != 1)} before the hearing"
        if self.kind is RuleKind.WEEKDAY_BEFORE:
            return f"{when} on the {WEEKDAYS[self.weekday]} before the hearing"
        return f"{when} on the {WEEKDAYS[self.weekday]} of the week before the hearing's week"


def clock(at: time) -> str:
    """ "5:00 p.m.", "12:00 p.m." (noon, as committees write it), "9:30 a.m."."""
    hour = at.hour % 12 or 12
    return f"{hour}:{at.minute:02d} {'a.m.' if at.hour < 12 else 'p.m.'}"


def parse_time(text: str) -> time:
    """ "17:00" or "5:00" → ``time``; ``RuleError`` otherwise."""
    try:
        hours, _, minutes = text.strip().partition(":")
        return time(int(hours), int(minutes or 0))
    except ValueError:
        raise RuleError(f"{text!r} is not a time like 17:00") from None


# ----------------------------------------------------------------------------------------------- holidays


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` of the month (n = -1: the last)."""
    days = [d for d in range(1, calendar.monthrange(year, month)[1] + 1) if date(year, month, d).weekday() == weekday]
    return date(year, month, days[n if n < 0 else n - 1])


def _observed(day: date) -> date:
    """Sunday holidays close the Monday after; Saturday holidays the Friday before."""
    if day.weekday() == 6:
        return day + timedelta(days=1)
    if day.weekday() == 5:
        return day - timedelta(days=1)
    return day


def _fixed(year: int) -> dict[date, str]:
    return {
        date(year, 1, 1): "New Year's Day",
        date(year, 3, 31): "Cesar Chavez Day",
        date(year, 7, 4): "Independence Day",
        date(year, 11, 11): "Veterans Day",
        date(year, 12, 25): "Christmas Day",
    }


@lru_cache(maxsize=64)
def state_holidays(year: int) -> dict[date, str]:
    """The weekdays the Capitol is closed in ``year``, with their names (see the module docstring)."""
    monday, thursday = 0, 3
    thanksgiving = _nth_weekday(year, 11, thursday, 4)
    holidays = {
        _nth_weekday(year, 1, monday, 3): "Martin Luther King, Jr. Day",
        _nth_weekday(year, 2, monday, 3): "Presidents' Day",
        _nth_weekday(year, 5, monday, -1): "Memorial Day",
        _nth_weekday(year, 9, monday, 1): "Labor Day",
        thanksgiving: "Thanksgiving Day",
        thanksgiving + timedelta(days=1): "Day after Thanksgiving",
    }
    # Next year's New Year's Day on a Saturday is observed on this year's December 31 (and this year's on a
    # Saturday belongs to last year).
    for day, name in {**_fixed(year), **_fixed(year + 1)}.items():
        observed = _observed(day)
        if observed.year == year:
            holidays[observed] = name if observed == day else f"{name} (observed)"
    return dict(sorted(holidays.items()))


def holiday_name(day: date) -> str | None:
    return state_holidays(day.year).get(day)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in state_holidays(day.year)


def business_day_on_or_before(day: date) -> date:
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


# ----------------------------------------------------------------------------------------------- deadlines


def deadline_date(rule: DeadlineRule, hearing: date) -> date:
    """The day letters are due for a hearing on ``hearing`` (a business day, strictly before the hearing)."""
    if rule.kind is RuleKind.BUSINESS_DAYS:
        day, counted = hearing, 0
        while counted < rule.days:
            day -= timedelta(days=1)
            counted += is_business_day(day)
        return day
    if rule.kind is RuleKind.CALENDAR_DAYS:
        day = hearing - timedelta(days=rule.days)
    elif rule.kind is RuleKind.WEEKDAY_BEFORE:
        day = hearing - timedelta(days=(hearing.weekday() - rule.weekday) % 7 or 7)
    else:
        monday_of_hearing_week = hearing - timedelta(days=hearing.weekday())
        day = monday_of_hearing_week - timedelta(days=7) + timedelta(days=rule.weekday)
    return business_day_on_or_before(day)


def deadline_local(rule: DeadlineRule, hearing: date) -> datetime:
    """The deadline as an aware datetime in Pacific time."""
    return datetime.combine(deadline_date(rule, hearing), rule.at, tzinfo=CALIFORNIA)


def to_utc_naive(moment: datetime) -> datetime:
    """How the project stores times (``advocacy.db.utcnow``): naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def to_local(stored: datetime) -> datetime:
    """A stored naive-UTC time as Pacific time."""
    return stored.replace(tzinfo=UTC).astimezone(CALIFORNIA)


def local_to_utc_naive(day: date, at: time) -> datetime:
    """A Pacific date and wall-clock time (e.g. a deadline staff typed) as naive UTC."""
    return to_utc_naive(datetime.combine(day, at, tzinfo=CALIFORNIA))


def compute_deadline(rule: DeadlineRule, hearing: date) -> datetime:
    """The deadline for ``hearing`` as stored: naive UTC."""
    return to_utc_naive(deadline_local(rule, hearing))


def format_deadline(stored: datetime | None) -> str:
    """ "Tuesday, March 3, 2026, 5:00 p.m. Pacific"."""
    if stored is None:
        return "No deadline set"
    local = to_local(stored)
    return f"{WEEKDAYS[local.weekday()]}, {local:%B} {local.day}, {local.year}, {clock(local.time())} Pacific"


def time_left(deadline: datetime | None, now: datetime) -> str:
    """A countdown for people: "3 days 4 hours left", "2 hours 5 minutes left", "Deadline passed"."""
    if deadline is None:
        return "No deadline set"
    seconds = int((deadline - now).total_seconds())
    if seconds <= 0:
        return "Deadline passed"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'s' * (n != 1)}"

    if days:
        return f"{unit(days, 'day')} {unit(hours, 'hour')} left"
    if hours:
        return f"{unit(hours, 'hour')} {unit(minutes, 'minute')} left"
    return f"{unit(max(minutes, 1), 'minute')} left"
