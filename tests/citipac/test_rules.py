"""Every rule of DOMAIN.md §4 at its edges, as tables: $99.99 / $100.00, Dec 31 / Jan 1, day 59 / 60 / 61."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from advocacy.citipac import rules
from advocacy.citipac.rules import (
    AccountHolder,
    ContributionFacts,
    ContributorFacts,
    ContributorKind,
    InfoState,
    LateWindow,
    PayerFacts,
    PaymentMethod,
)

COMPLETE = ContributorFacts(
    kind=ContributorKind.INDIVIDUAL,
    street="1 Main St",
    city="Davis",
    zip_code="95616",
    occupation="Teacher",
    employer="Davis Joint Unified",
)
NO_JOB = replace(COMPLETE, occupation="", employer="")
ANONYMOUS = ContributorFacts(kind=ContributorKind.ANONYMOUS)
DAY = date(2030, 6, 15)


def facts(
    cents: int,
    *,
    method: PaymentMethod = PaymentMethod.CHECK,
    contributor: ContributorFacts = COMPLETE,
    ytd: int = 0,
    on: date = DAY,
    **extra: object,
) -> ContributionFacts:
    return ContributionFacts(
        amount_cents=cents, method=method, received_on=on, contributor=contributor, ytd_before_cents=ytd, **extra
    )  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ money


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("99.99", 9999),
        ("100", 10000),
        ("100.00", 10000),
        ("$1,250.5", 125050),
        (" 0.01 ", 1),
        (Decimal("99.99"), 9999),
        (250, 25000),
        ("-5.00", -500),
    ],
)
def test_parse_money_is_exact(raw: str | Decimal | int, cents: int) -> None:
    assert rules.parse_money(raw) == cents


@pytest.mark.parametrize(
    "raw", ["99.999", "abc", "", "1e3", "12.", "10,00.0.0", "$", "NaN", 99.99, True, "10000000.01"]
)
def test_parse_money_refuses_what_is_not_dollars_and_cents(raw: object) -> None:
    with pytest.raises(rules.MoneyError):
        rules.parse_money(raw)  # type: ignore[arg-type]


def test_money_and_dollars_render_cents() -> None:
    assert rules.money(-2550) == "-25.50" and rules.money(5) == "0.05"
    assert rules.dollars(123456789) == "$1,234,567.89" and rules.dollars(-100).endswith("$1.00")


# ------------------------------------------------------------------------------------------------ refusals

CASH_TABLE = [
    (9999, PaymentMethod.CASH, True),
    (10000, PaymentMethod.CASH, False),
    (10001, PaymentMethod.CASH, False),
    (10000, PaymentMethod.CHECK, True),
    (10000, PaymentMethod.CARD, True),
    (10000, PaymentMethod.ACH, True),
]


@pytest.mark.parametrize(("cents", "method", "accepted"), CASH_TABLE)
def test_cash_of_100_or_more_is_refused(cents: int, method: PaymentMethod, accepted: bool) -> None:
    result = rules.evaluate(facts(cents, method=method))
    assert result.accepted is accepted
    if not accepted:
        assert "Cash of $100 or more cannot be accepted" in result.refusals[0]
        assert "§84300" in result.refusals[0]


ANONYMOUS_TABLE = [
    # (amount, anonymous source's total so far this year, accepted)
    (9999, 0, True),
    (10000, 0, False),
    (5000, 4999, True),  # $99.99 in the year
    (5000, 5000, False),  # $100.00 in the year
    (1, 9999, False),
]


@pytest.mark.parametrize(("cents", "ytd", "accepted"), ANONYMOUS_TABLE)
def test_anonymous_money_of_100_or_more_in_a_year_is_refused(cents: int, ytd: int, accepted: bool) -> None:
    result = rules.evaluate(facts(cents, contributor=ANONYMOUS, ytd=ytd))
    assert result.accepted is accepted
    if not accepted:
        assert "§84304" in result.refusals[0] and "Secretary of State" in result.refusals[0]


def test_a_zero_amount_is_refused() -> None:
    assert not rules.evaluate(facts(0)).accepted


def test_every_refusal_is_reported_at_once() -> None:
    result = rules.evaluate(facts(10000, method=PaymentMethod.CASH, contributor=ANONYMOUS))
    assert len(result.refusals) == 2


STATE_LIMIT_TABLE = [
    # (amount, state money so far, limit, accepted)
    (980000, 0, 980000, True),
    (980001, 0, 980000, False),
    (1, 979999, 980000, True),
    (2, 979999, 980000, False),
    (100, 0, None, False),  # no limit set for the year: refused until the treasurer sets one
]


@pytest.mark.parametrize(("cents", "state_ytd", "limit", "accepted"), STATE_LIMIT_TABLE)
def test_state_candidate_limit(cents: int, state_ytd: int, limit: int | None, accepted: bool) -> None:
    result = rules.evaluate(
        facts(cents, for_state_candidates=True, state_ytd_before_cents=state_ytd, state_limit_cents=limit)
    )
    assert result.accepted is accepted


def test_money_not_for_state_candidates_is_not_limited() -> None:
    assert rules.evaluate(facts(5_000_000_00, state_limit_cents=980000)).accepted


def test_default_limits_are_9800_for_2025_and_2026() -> None:
    assert rules.DEFAULT_STATE_CANDIDATE_LIMITS == {2025: 980000, 2026: 980000}


# ------------------------------------------------------------------------------------------------ flags

ITEMIZATION_TABLE = [
    # (amount, total before, information on file, flagged)
    (9999, 0, NO_JOB, False),
    (10000, 0, NO_JOB, True),
    (1, 9999, NO_JOB, True),  # brings the year to $100.00
    (1, 9998, NO_JOB, False),  # brings the year to $99.99
    (10000, 0, COMPLETE, False),
    (10000, 0, replace(COMPLETE, street=""), True),  # §85700: the address too
    (10000, 0, replace(COMPLETE, employer="", self_employed=True), True),
]


@pytest.mark.parametrize(("cents", "ytd", "contributor", "flagged"), ITEMIZATION_TABLE)
def test_reaching_100_without_the_information_is_accepted_but_flagged(
    cents: int, ytd: int, contributor: ContributorFacts, flagged: bool
) -> None:
    result = rules.evaluate(facts(cents, ytd=ytd, contributor=contributor))
    assert result.accepted
    assert result.info_required is flagged
    assert result.info_due_on == (date(2030, 8, 14) if flagged else None)  # June 15 + 60 days


def test_missing_information_names_what_is_missing() -> None:
    assert rules.missing_information(NO_JOB) == ("occupation", "employer")
    assert rules.missing_information(replace(NO_JOB, self_employed=True, occupation="Architect")) == (
        "name of business (self-employed)",
    )
    committee = ContributorFacts(kind=ContributorKind.COMMITTEE, street="1 K St", city="Sacramento", zip_code="95814")
    assert rules.missing_information(committee) == ("Secretary of State ID (or the treasurer's name and address)",)
    assert rules.missing_information(replace(committee, committee_treasurer="Jo Doe, 1 K St")) == ()
    business = ContributorFacts(kind=ContributorKind.BUSINESS)
    assert rules.missing_information(business) == ("street address", "city", "ZIP code")
    assert rules.missing_information(ANONYMOUS) == ()


def test_a_contribution_of_25_without_an_address_warns() -> None:
    no_address = replace(COMPLETE, street="", city="", zip_code="")
    assert rules.evaluate(facts(2500, contributor=no_address)).warnings
    assert not rules.evaluate(facts(2499, contributor=no_address)).warnings


THRESHOLD_TABLE = [
    # (amount, total before, $5,000 notice due, major donor)
    (499999, 0, False, False),
    (500000, 0, True, False),
    (1, 499999, True, False),
    (100000, 500000, False, False),  # already past $5,000: no second notice
    (999999, 0, True, False),
    (1000000, 0, True, True),
    (1, 999999, False, True),
    (1, 1000000, False, False),  # already a major donor
]


@pytest.mark.parametrize(("cents", "ytd", "notice", "major"), THRESHOLD_TABLE)
def test_5000_notice_and_10000_major_donor(cents: int, ytd: int, notice: bool, major: bool) -> None:
    result = rules.evaluate(facts(cents, ytd=ytd))
    assert (result.notice_84105_due_on == date(2030, 6, 29)) is notice  # two weeks
    assert result.major_donor is major


ELECTION = date(2030, 11, 5)
LATE_TABLE = [
    # (received, window applies, amount, window total before, alert)
    (date(2030, 8, 6), False, 100000, 0, False),  # 91 days before: outside
    (date(2030, 8, 7), True, 100000, 0, True),  # 90 days before
    (date(2030, 11, 5), True, 100000, 0, True),  # election day
    (date(2030, 11, 6), False, 100000, 0, False),  # the day after
    (date(2030, 10, 1), True, 99999, 0, False),
    (date(2030, 10, 1), True, 1, 99999, True),  # the window's total reaches $1,000
]


@pytest.mark.parametrize(("on", "in_window", "cents", "before", "alert"), LATE_TABLE)
def test_24_hour_report_in_the_90_days_before_an_election(
    on: date, in_window: bool, cents: int, before: int, alert: bool
) -> None:
    assert rules.in_late_window(on, ELECTION) is in_window
    windows = (LateWindow(ELECTION, "General", before),) if in_window else ()
    result = rules.evaluate(facts(cents, on=on, late_windows=windows))
    assert bool(result.late_reports) is alert
    if alert:
        assert result.late_reports[0].due_on == date.fromordinal(on.toordinal() + 1)


# ------------------------------------------------------------------------------------------------ the 60-day clock

RECEIVED = date(2030, 12, 31)
CLOCK_TABLE = [
    # (day after receipt, state, days left)
    (0, InfoState.DUE, 60),
    (59, InfoState.DUE, 1),
    (60, InfoState.DUE_TODAY, 0),
    (61, InfoState.OVERDUE, -1),
]


@pytest.mark.parametrize(("day", "state", "left"), CLOCK_TABLE)
def test_the_sixty_day_clock_edges(day: int, state: InfoState, left: int) -> None:
    today = date.fromordinal(RECEIVED.toordinal() + day)
    clock = rules.info_clock(RECEIVED, today)
    assert (clock.state, clock.days_left) == (state, left)
    assert clock.due_on == date(2031, 3, 1)  # Dec 31 + 60 days crosses the new year (2031 is not a leap year)
    if state is InfoState.OVERDUE:
        assert "return the contribution now" in clock.message


def test_the_clock_stops_when_the_information_arrives_or_the_money_is_returned() -> None:
    late = date(2031, 5, 1)
    assert rules.info_clock(RECEIVED, late, info_received=True).state is InfoState.RECEIVED
    assert rules.info_clock(RECEIVED, late, returned=True).state is InfoState.RETURNED


REQUEST_TABLE = [(-1, None), (0, 0), (19, 0), (20, 1), (39, 1), (40, 2), (55, 3), (60, 3), (61, None)]


@pytest.mark.parametrize(("day", "step"), REQUEST_TABLE)
def test_information_request_schedule(day: int, step: int | None) -> None:
    today = date.fromordinal(RECEIVED.toordinal() + day)
    assert rules.info_request_step(RECEIVED, today) == step


# ------------------------------------------------------------------------------------------------ mass mailings


@pytest.mark.parametrize(
    ("kind", "sent_before", "required"),
    [
        ("info_request", 199, False),
        ("info_request", 200, True),
        ("notice_84105", 0, False),
        ("receipt", 0, True),
    ],
)
def test_paid_for_on_mass_mailings_of_more_than_200(kind: str, sent_before: int, required: bool) -> None:
    assert rules.paid_for_required(kind, sent_before) is required


# ------------------------------------------------------------------------------------------------ city money

SACRAMENTO = {
    "city_name": "Sacramento",
    "city_official_name": "Sacramento",
    "city_hall_address": "915 I Street, Sacramento, CA 95814",
    "official_email": "mayor@sac-council.example",
}
PAYER_TABLE = [
    # (payer name, street, e-mail, account holder, refused, words in the message)
    ("Jane Q. Official", "12 Elm Street", "jane@gmail.com", AccountHolder.PERSONAL, False, ""),
    (
        "Official for Council 2026",
        "PO Box 5",
        "treasurer@official2026.com",
        AccountHolder.CAMPAIGN_COMMITTEE,
        False,
        "",
    ),
    ("Jane Q. Official", "12 Elm Street", "jane@gmail.com", AccountHolder.CITY, True, "city card"),
    ("City of Sacramento", "12 Elm Street", "jane@gmail.com", AccountHolder.PERSONAL, True, "is a city"),
    ("the Town of Truckee", "12 Elm Street", "jane@gmail.com", AccountHolder.PERSONAL, True, "is a city"),
    ("Sacramento City Council", "12 Elm Street", "jane@gmail.com", AccountHolder.PERSONAL, True, "is a city"),
    ("Jane Q. Official", "915 I St.", "jane@gmail.com", AccountHolder.PERSONAL, True, "City Hall"),
    ("Jane Q. Official", "1 City Hall Plaza", "jane@gmail.com", AccountHolder.PERSONAL, True, "City Hall"),
    ("Jane Q. Official", "12 Elm Street", "jane@sac-council.example", AccountHolder.PERSONAL, True, "same domain"),
    ("Jane Q. Official", "12 Elm Street", "jane@cityofsacramento.org", AccountHolder.PERSONAL, True, "government"),
    ("Jane Q. Official", "12 Elm Street", "jane@ci.davis.ca.us", AccountHolder.PERSONAL, True, "government"),
    ("Jane Q. Official", "12 Elm Street", "jane@sanjoseca.gov", AccountHolder.PERSONAL, True, "government"),
]


@pytest.mark.parametrize(("name", "street", "email", "holder", "refused", "words"), PAYER_TABLE)
def test_a_city_payer_is_refused(
    name: str, street: str, email: str, holder: AccountHolder, refused: bool, words: str
) -> None:
    reasons = rules.city_payer_refusals(
        PayerFacts(payer_name=name, payer_street=street, payer_email=email, account_holder=holder, **SACRAMENTO)
    )
    assert bool(reasons) is refused, reasons
    if refused:
        assert words in " ".join(reasons)
        assert "§8314" in " ".join(reasons) or "§85300" in " ".join(reasons)


def test_a_personal_address_at_a_consumer_domain_is_fine_even_if_the_official_uses_it() -> None:
    reasons = rules.city_payer_refusals(
        PayerFacts(
            payer_name="Jane",
            payer_street="",
            payer_email="jane@gmail.com",
            account_holder=AccountHolder.PERSONAL,
            official_email="jane@gmail.com",
        )
    )
    assert reasons == []


def test_the_rule_table_cites_its_sources() -> None:
    assert [t.cents for t in rules.RULE_TABLE] == [10000, 10000, 10000, 2500, 500000, 1000000, 100000]
    assert all(t.source for t in rules.RULE_TABLE)
