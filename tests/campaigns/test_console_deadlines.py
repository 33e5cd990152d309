"""The deadline engine: DOMAIN.md §1.6's committee rules, weekends, California state holidays, daylight saving time,
the seeded rules matched against the Committee table, and how committees list conditional positions (§1.5)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from advocacy.campaigns.committee_rules import SEEDS, listing_warnings, rule_for, seed_rules
from advocacy.campaigns.console_models import Listing, RuleKind
from advocacy.campaigns.deadlines import (
    DeadlineRule,
    RuleError,
    compute_deadline,
    deadline_date,
    deadline_local,
    format_deadline,
    is_business_day,
    state_holidays,
    time_left,
)
from advocacy.db import session_scope
from tests.campaigns.conftest import committee_named

MON, TUE, WED, THU, FRI = range(5)
NOON, FIVE = time(12), time(17)


def seed(chamber: str, name: str) -> DeadlineRule:
    return next(s.rule for s in SEEDS if (s.chamber, s.name) == (chamber, name))


# (committee, hearing, expected deadline date, expected local time) — 2026 dates; DST began March 8.
CASES = [
    (("Assembly", "Housing and Community Development"), date(2026, 3, 24), date(2026, 3, 17), FIVE),
    (("Assembly", "Local Government"), date(2026, 4, 8), date(2026, 4, 2), FIVE),
    (("Assembly", "Communications and Conveyance"), date(2026, 4, 15), date(2026, 4, 10), NOON),
    (("Assembly", "Communications and Conveyance"), date(2026, 4, 13), date(2026, 4, 10), NOON),
    (("Assembly", "Elections"), date(2026, 4, 15), date(2026, 4, 9), FIVE),
    (("Assembly", "Environmental Safety and Toxic Materials"), date(2026, 4, 14), date(2026, 4, 6), FIVE),
    (("Senate", "Judiciary"), date(2026, 4, 14), date(2026, 4, 7), NOON),
    (("Senate", "Housing"), date(2026, 4, 14), date(2026, 4, 8), NOON),
    (("Senate", "Environmental Quality"), date(2026, 4, 15), date(2026, 4, 6), NOON),
    (("Senate", "Human Services"), date(2026, 4, 13), date(2026, 4, 7), NOON),
    (("Senate", "Elections and Constitutional Amendments"), date(2026, 4, 14), date(2026, 4, 9), time(15)),
    (("Senate", "Natural Resources and Water"), date(2026, 4, 14), date(2026, 4, 3), FIVE),
    (("Senate", "Rules"), date(2026, 4, 15), date(2026, 4, 14), NOON),
]


@pytest.mark.parametrize(("committee", "hearing", "due", "at"), CASES, ids=[f"{c[0][1]}-{c[1]}" for c in CASES])
def test_every_domain_rule_gives_the_deadline_its_committee_states(
    committee: tuple[str, str], hearing: date, due: date, at: time
) -> None:
    local = deadline_local(seed(*committee), hearing)
    assert local.date() == due and local.time() == at
    assert local.date() < hearing and is_business_day(local.date())


def test_at_least_eight_days_for_environmental_safety() -> None:
    rule = seed("Assembly", "Environmental Safety and Toxic Materials")
    assert (date(2026, 4, 14) - deadline_date(rule, date(2026, 4, 14))).days == 8


def test_a_holiday_on_monday_is_skipped_when_counting_business_days() -> None:
    # Presidents' Day is Monday February 16, 2026; Lincoln Day (Thursday Feb 12) is a business day at the Capitol.
    rule = DeadlineRule(RuleKind.BUSINESS_DAYS, days=5)
    assert not is_business_day(date(2026, 2, 16))
    assert is_business_day(date(2026, 2, 12))
    assert deadline_date(rule, date(2026, 2, 18)) == date(2026, 2, 10)
    # Without the holiday it would have been Wednesday the 11th.
    assert deadline_date(rule, date(2026, 2, 25)) == date(2026, 2, 18)


def test_cesar_chavez_day_is_skipped_in_a_seven_business_day_rule() -> None:
    rule = seed("Senate", "Natural Resources and Water")
    assert deadline_date(rule, date(2026, 4, 7)) == date(2026, 3, 26)  # Tuesday March 31 skipped


def test_a_weekday_rule_landing_on_a_holiday_moves_to_the_business_day_before() -> None:
    # Thursday before a Wednesday December 2, 2026 hearing is Thanksgiving: Wednesday November 25 instead.
    assert deadline_date(seed("Assembly", "Local Government"), date(2026, 12, 2)) == date(2026, 11, 25)


def test_a_calendar_day_rule_landing_on_a_holiday_or_weekend_moves_earlier() -> None:
    rule = seed("Senate", "Environmental Quality")
    assert deadline_date(rule, date(2026, 1, 28)) == date(2026, 1, 16)  # Monday the 19th is MLK Day
    assert deadline_date(rule, date(2026, 4, 19)) == date(2026, 4, 10)  # nine days before: Friday the 10th
    assert deadline_date(rule, date(2026, 4, 20)) == date(2026, 4, 10)  # Saturday the 11th → Friday


def test_state_holidays_follow_the_observance_rules() -> None:
    h2026 = state_holidays(2026)
    assert h2026[date(2026, 7, 3)] == "Independence Day (observed)"  # July 4, 2026 is a Saturday
    assert date(2026, 11, 27) in h2026 and date(2026, 11, 26) in h2026  # Thanksgiving and the day after
    assert date(2026, 9, 25) not in h2026  # Native American Day: optional for state staff, the Capitol is open
    assert date(2026, 6, 19) not in h2026  # Juneteenth: the same
    assert date(2026, 2, 12) not in h2026  # Lincoln Day: dropped by the Legislature
    assert state_holidays(2021)[date(2021, 7, 5)] == "Independence Day (observed)"  # Sunday → Monday
    assert state_holidays(2021)[date(2021, 12, 31)] == "New Year's Day (observed)"  # Jan 1, 2022 a Saturday
    assert date(2022, 1, 1) not in state_holidays(2022)
    assert state_holidays(2023)[date(2023, 11, 10)] == "Veterans Day (observed)"  # a Saturday → Friday
    assert len(h2026) == 11


def test_daylight_saving_time_never_shifts_a_deadline() -> None:
    rule = DeadlineRule(RuleKind.BUSINESS_DAYS, days=5)
    # Spring forward on Sunday March 8, 2026: before it 5 p.m. is 01:00 UTC, after it 00:00 UTC.
    assert compute_deadline(rule, date(2026, 3, 11)) == datetime(2026, 3, 5, 1, 0)
    assert compute_deadline(rule, date(2026, 3, 18)) == datetime(2026, 3, 12, 0, 0)
    # The rule's window spans the change: still 5 p.m. Pacific on the right day.
    assert deadline_local(rule, date(2026, 3, 12)).hour == 17
    # Fall back on Sunday November 1, 2026.
    noon_friday = deadline_local(seed("Assembly", "Communications and Conveyance"), date(2026, 11, 4))
    assert noon_friday.date() == date(2026, 10, 30) and noon_friday.hour == 12
    assert compute_deadline(seed("Assembly", "Communications and Conveyance"), date(2026, 11, 11)) == datetime(
        2026, 11, 6, 20, 0
    )
    assert format_deadline(datetime(2026, 11, 6, 20, 0)) == "Friday, November 6, 2026, 12:00 p.m. Pacific"


def test_countdown_counts_real_hours_across_the_change() -> None:
    deadline = compute_deadline(DeadlineRule(RuleKind.WEEKDAY_BEFORE, weekday=MON, at=NOON), date(2026, 11, 3))
    assert deadline == datetime(2026, 11, 2, 20, 0)  # Monday noon PST
    # Saturday noon PDT (19:00 UTC) to Monday noon PST is 49 hours, not 48.
    assert time_left(deadline, datetime(2026, 10, 31, 19, 0)) == "2 days 1 hour left"
    assert time_left(deadline, datetime(2026, 11, 2, 19, 59)) == "1 minute left"
    assert time_left(deadline, datetime(2026, 11, 2, 20, 0)) == "Deadline passed"
    assert time_left(None, datetime(2026, 1, 1)) == "No deadline set"


def test_bad_rules_are_refused() -> None:
    with pytest.raises(RuleError):
        DeadlineRule(RuleKind.BUSINESS_DAYS, days=0)
    with pytest.raises(RuleError):
        DeadlineRule(RuleKind.WEEKDAY_BEFORE, weekday=7)


def test_rules_describe_themselves() -> None:
    assert seed("Assembly", "Housing and Community Development").describe() == (
        "5:00 p.m., 5 business days before the hearing"
    )
    assert seed("Senate", "Judiciary").describe() == ("12:00 p.m. on the Tuesday of the week before the hearing's week")


def test_seeded_rules_match_every_committee_of_the_domain_table(loaded_data: dict[str, int]) -> None:
    with session_scope() as session:
        _, missing = seed_rules(session)
        assert missing == []
        for s in SEEDS:
            committee = committee_named(session, s.chamber, s.name)
            rule = rule_for(session, committee.id or 0)
            assert rule is not None and rule.source_url.startswith("https://") and rule.checked_on is not None
        judiciary = rule_for(session, committee_named(session, "Senate", "Judiciary").id or 0)
        assert judiciary is not None and judiciary.accepts_email and judiciary.listing == Listing.SUPPORT_OPPOSE
        # Seeding again changes nothing.
        assert seed_rules(session) == (0, [])


def test_listing_warnings_for_conditional_positions() -> None:
    assert listing_warnings(Listing.SUPPORT_OPPOSE, "Support if Amended") == [
        "“Support if Amended” letters are filed but may not be listed in the committee's analysis."
    ]
    assert "listed as opposition" in listing_warnings(Listing.UNKNOWN, "Oppose Unless Amended")[0]
    assert "may not be listed" in listing_warnings(Listing.NO_CONDITIONAL, "Oppose Unless Amended")[0]
    assert listing_warnings(Listing.ALL_FOUR, "Support if Amended") == []
    assert listing_warnings(Listing.SUPPORT_OPPOSE, "Support") == []
    assert listing_warnings(Listing.NONE, "Support") == ["This committee's analysis lists no positions at all."]
