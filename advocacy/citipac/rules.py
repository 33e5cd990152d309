"""The Political Reform Act rules CitiPAC's ledger enforces, as data and pure functions (DOMAIN.md §4).

Nothing here touches the database: ``service`` gathers the facts (the contributor's calendar-year total, the
elections configured, the limit for the year) and this module decides. Every figure is a named threshold with its
source, so the table tests and the pages quote the same numbers.

Money is whole cents (``int``) everywhere: amounts arrive as decimal text and are parsed exactly, never as floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

# ---------------------------------------------------------------------------------------------------------------
# Money


class MoneyError(ValueError):
    """An amount that is not a plain dollar figure with at most two decimals."""


MAX_AMOUNT_CENTS = 10_000_000_00  # $10 million: larger is a typing slip, not a contribution
_MONEY_RE = re.compile(r"^-?\d+(\.\d{1,2})?$")


def parse_money(raw: str | Decimal | int) -> int:
    """``"1,250.50"`` / ``"$99.99"`` / ``Decimal("100")`` / ``100`` -> cents. Floats are refused (they round)."""
    if isinstance(raw, (bool, float)):
        raise MoneyError("give amounts as decimal text such as 100.00, not as a binary floating-point number")
    if isinstance(raw, int):
        return raw * 100
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise MoneyError("the amount is not a number")
        text = format(raw, "f")
    else:
        text = raw.strip().replace(",", "").replace(" ", "")
        if text.startswith("$"):
            text = text[1:]
    if not _MONEY_RE.match(text):
        raise MoneyError(f"{str(raw)[:30]!r} is not an amount in dollars and cents, like 250 or 99.99")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above already refused it
        raise MoneyError(f"{text!r} is not an amount") from None
    cents = int((value * 100).to_integral_value())
    if abs(cents) > MAX_AMOUNT_CENTS:
        raise MoneyError("the amount is larger than $10,000,000.00: check it")
    return cents


def parse_positive_money(raw: str | Decimal | int) -> int:
    cents = parse_money(raw)
    if cents <= 0:
        raise MoneyError("the amount must be more than $0.00")
    return cents


def money(cents: int) -> str:
    """Cents as a plain decimal: ``12345`` -> ``"123.45"``, ``-500`` -> ``"-5.00"`` (CSV, JSON)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def dollars(cents: int) -> str:
    """Cents for people: ``123456`` -> ``"$1,234.56"``."""
    sign = "\N{MINUS SIGN}" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


# ---------------------------------------------------------------------------------------------------------------
# Vocabulary


class ContributorKind(StrEnum):
    INDIVIDUAL = "individual"
    COMMITTEE = "committee"
    BUSINESS = "business"  # "other": a business entity
    PARTY = "party"
    SMALL_CONTRIBUTOR_COMMITTEE = "small_contributor_committee"
    # A source the treasurer cannot name: allowed only below $100 a calendar year, never itemized (§84304).
    ANONYMOUS = "anonymous"

    @property
    def label(self) -> str:
        return CONTRIBUTOR_KIND_LABELS[self]

    @property
    def is_organization(self) -> bool:
        return self in (
            ContributorKind.COMMITTEE,
            ContributorKind.BUSINESS,
            ContributorKind.PARTY,
            ContributorKind.SMALL_CONTRIBUTOR_COMMITTEE,
        )

    @property
    def is_committee(self) -> bool:
        return self in (ContributorKind.COMMITTEE, ContributorKind.PARTY, ContributorKind.SMALL_CONTRIBUTOR_COMMITTEE)


CONTRIBUTOR_KIND_LABELS = {
    ContributorKind.INDIVIDUAL: "Individual",
    ContributorKind.COMMITTEE: "Committee",
    ContributorKind.BUSINESS: "Business or other entity",
    ContributorKind.PARTY: "Political party",
    ContributorKind.SMALL_CONTRIBUTOR_COMMITTEE: "Small contributor committee",
    ContributorKind.ANONYMOUS: "Anonymous",
}

#: Form 460 Schedule A contributor codes, as the CAL format's ENTITY_CD spells them (DOMAIN.md §4.2, §4.8).
ENTITY_CODES = {
    ContributorKind.INDIVIDUAL: "IND",
    ContributorKind.COMMITTEE: "COM",
    ContributorKind.BUSINESS: "OTH",
    ContributorKind.PARTY: "PTY",
    ContributorKind.SMALL_CONTRIBUTOR_COMMITTEE: "SCC",
    ContributorKind.ANONYMOUS: "",
}


class PaymentMethod(StrEnum):
    CHECK = "check"
    CARD = "card"
    ACH = "ach"
    CASH = "cash"

    @property
    def label(self) -> str:
        return {"check": "Check", "card": "Card", "ach": "ACH / bank transfer", "cash": "Cash"}[self.value]


class EntryKind(StrEnum):
    CONTRIBUTION = "contribution"
    REFUND = "refund"  # money returned: a reversing entry (e.g. the 60-day return of §85700)
    CORRECTION = "correction"  # a wrong entry reversed in full; the right one is recorded anew

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FundsSource(StrEnum):
    """Where an official's money comes from (DOMAIN.md §4.9): never the city."""

    PERSONAL = "personal"
    BUSINESS = "business"
    OWN_COMMITTEE = "own_committee"

    @property
    def label(self) -> str:
        return {
            "personal": "My personal funds",
            "business": "My business's funds",
            "own_committee": "My own campaign committee",
        }[self.value]


class AccountHolder(StrEnum):
    """Whose card or bank account pays. ``CITY`` exists so that choosing it gets a clear refusal."""

    PERSONAL = "personal"
    BUSINESS = "business"
    CAMPAIGN_COMMITTEE = "campaign_committee"
    CITY = "city"

    @property
    def label(self) -> str:
        return {
            "personal": "Mine (personal)",
            "business": "My business",
            "campaign_committee": "My campaign committee",
            "city": "The city (a city card or city account)",
        }[self.value]


# ---------------------------------------------------------------------------------------------------------------
# Thresholds, each with its source


@dataclass(frozen=True)
class Threshold:
    code: str
    cents: int
    source: str
    summary: str


CASH_LIMIT = Threshold(
    "cash", 100_00, "Gov. Code §84300(a)", "No contribution of $100 or more may be made or received in cash."
)
ANONYMOUS_LIMIT = Threshold(
    "anonymous", 100_00, "Gov. Code §84304", "No anonymous contributions totalling $100 or more in a calendar year."
)
ITEMIZATION = Threshold(
    "itemization",
    100_00,
    "Form 460 Schedule A; Gov. Code §85700",
    "A source of $100 or more in a calendar year is itemized, with occupation and employer.",
)
RECORD_MINIMUM = Threshold(
    "record",
    25_00,
    "2 CCR §18401; FPPC Campaign Manual 2, ch. 3",
    "Contributions of $25 and up need a contributor record: full name and street address.",
)
NOTICE_84105 = Threshold(
    "notice_84105",
    5_000_00,
    "Gov. Code §84105",
    "A contributor of $5,000 or more must be told within two weeks that they may have to file campaign reports.",
)
MAJOR_DONOR = Threshold(
    "major_donor",
    10_000_00,
    "Form 461 (FPPC Campaign Manual 5)",
    "A contributor of $10,000 or more in a calendar year is a major donor.",
)
LATE_CONTRIBUTION = Threshold(
    "report_24h",
    1_000_00,
    "Form 497 (FPPC Campaign Manual 2, ch. 11)",
    "$1,000 or more from one source in the 90 days before an election is reported within 24 hours.",
)
MASS_MAILING = 200  # more than 200 substantially similar e-mails in a calendar month (§84305, §82041.5)

RETURN_DAYS = 60  # §85700: return a contribution without the contributor's information within 60 days
AMEND_DAYS = 70  # FPPC manual: information received later is reported by amendment within 70 days
NOTICE_DAYS = 14  # §84105: "within two weeks"
LATE_WINDOW_DAYS = 90  # Form 497: the 90 days before an election, and election day

#: §85303(a) as adjusted by the FPPC on Jan 16, 2025 (DOMAIN.md §4.5, [V2]): contributions to a committee that
#: contributes to state candidates, per calendar year. Years not listed must be set by the treasurer.
DEFAULT_STATE_CANDIDATE_LIMITS = {2025: 9_800_00, 2026: 9_800_00}

PAID_FOR = "Paid for by CitiPAC"
PUBLIC_FUNDS = "Public funds may not be used for political purposes."

RULE_TABLE = (CASH_LIMIT, ANONYMOUS_LIMIT, ITEMIZATION, RECORD_MINIMUM, NOTICE_84105, MAJOR_DONOR, LATE_CONTRIBUTION)


# ---------------------------------------------------------------------------------------------------------------
# Contributor information


@dataclass(frozen=True)
class ContributorFacts:
    """What is on file about a contributor; empty strings are missing."""

    kind: ContributorKind
    street: str = ""
    city: str = ""
    zip_code: str = ""
    occupation: str = ""
    employer: str = ""
    self_employed: bool = False
    committee_sos_id: str = ""
    committee_treasurer: str = ""


def missing_information(facts: ContributorFacts) -> tuple[str, ...]:
    """What §85700 and Schedule A need that is not on file (the name is required to create a contributor)."""
    if facts.kind is ContributorKind.ANONYMOUS:
        return ()
    missing = [
        label
        for label, value in (("street address", facts.street), ("city", facts.city), ("ZIP code", facts.zip_code))
        if not value.strip()
    ]
    if facts.kind is ContributorKind.INDIVIDUAL:
        if not facts.occupation.strip():
            missing.append("occupation")
        if not facts.employer.strip():
            missing.append("name of business (self-employed)" if facts.self_employed else "employer")
    if facts.kind.is_committee and not (facts.committee_sos_id.strip() or facts.committee_treasurer.strip()):
        missing.append("Secretary of State ID (or the treasurer's name and address)")
    return tuple(missing)


# ---------------------------------------------------------------------------------------------------------------
# A contribution, judged


@dataclass(frozen=True)
class LateWindow:
    """An election whose 90-day window holds the contribution, and the source's total in that window so far."""

    election_on: date
    name: str
    total_before_cents: int


@dataclass(frozen=True)
class ContributionFacts:
    amount_cents: int
    method: PaymentMethod
    received_on: date
    contributor: ContributorFacts
    # The contributor's net total in the calendar year of ``received_on``, before this contribution.
    ytd_before_cents: int = 0
    for_state_candidates: bool = False
    state_ytd_before_cents: int = 0
    # None: no limit is set for the year (money for state candidates is then refused until one is).
    state_limit_cents: int | None = None
    late_windows: tuple[LateWindow, ...] = ()


@dataclass(frozen=True)
class LateReport:
    election_on: date
    election_name: str
    window_total_cents: int
    due_on: date


@dataclass
class Evaluation:
    """What the rules say about one contribution: refusals (nothing is recorded) and flags (recorded, followed up)."""

    refusals: list[str] = field(default_factory=list)
    ytd_after_cents: int = 0
    info_required: bool = False
    info_missing: tuple[str, ...] = ()
    info_due_on: date | None = None
    notice_84105_due_on: date | None = None  # set when this contribution brings the year to $5,000
    major_donor: bool = False  # set when this contribution brings the year to $10,000
    late_reports: list[LateReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.refusals


def evaluate(facts: ContributionFacts) -> Evaluation:
    """Apply every rule of DOMAIN.md §4 to one contribution."""
    amount = facts.amount_cents
    result = Evaluation(ytd_after_cents=facts.ytd_before_cents + amount)
    year = facts.received_on.year
    if amount <= 0:
        result.refusals.append("A contribution must be more than $0.00 (record a refund or correction instead).")
        return result
    if facts.method is PaymentMethod.CASH and amount >= CASH_LIMIT.cents:
        result.refusals.append(
            f"Cash of $100 or more cannot be accepted ({CASH_LIMIT.source}): a contribution of $100 or more must "
            "come by check or another written instrument naming the contributor and CitiPAC. Give the cash back; "
            "cash already deposited is not treated as received if it is refunded within 72 hours."
        )
    if facts.contributor.kind is ContributorKind.ANONYMOUS and result.ytd_after_cents >= ANONYMOUS_LIMIT.cents:
        result.refusals.append(
            f"Anonymous money may not total $100 or more in a calendar year ({ANONYMOUS_LIMIT.source}): this source "
            f"would reach {dollars(result.ytd_after_cents)} in {year}. Record the contributor's true name, or pay "
            "the amount to the Secretary of State for the General Fund."
        )
    if facts.for_state_candidates:
        if facts.state_limit_cents is None:
            result.refusals.append(
                f"No limit is set for money used for contributions to state candidates in {year}: the treasurer "
                "must set it (it is adjusted every two years) before such money can be recorded."
            )
        elif facts.state_ytd_before_cents + amount > facts.state_limit_cents:
            result.refusals.append(
                f"This would bring the contributor's money for state candidates to "
                f"{dollars(facts.state_ytd_before_cents + amount)} in {year}, over the "
                f"{dollars(facts.state_limit_cents)} limit per calendar year (Gov. Code §85303). At most "
                f"{dollars(max(0, facts.state_limit_cents - facts.state_ytd_before_cents))} more can be accepted "
                "for state candidates; the rest may be accepted as not used for state candidates."
            )
    if result.refusals:
        return result

    missing = missing_information(facts.contributor)
    if result.ytd_after_cents >= ITEMIZATION.cents and missing:
        result.info_required = True
        result.info_missing = missing
        result.info_due_on = facts.received_on + timedelta(days=RETURN_DAYS)
    elif (
        amount >= RECORD_MINIMUM.cents
        and facts.contributor.kind is not ContributorKind.ANONYMOUS
        and any(m in missing for m in ("street address", "city", "ZIP code"))
    ):
        result.warnings.append(
            "Contributions of $25 and up need the contributor's street address and ZIP code on file "
            f"({RECORD_MINIMUM.source})."
        )
    if facts.ytd_before_cents < NOTICE_84105.cents <= result.ytd_after_cents:
        result.notice_84105_due_on = facts.received_on + timedelta(days=NOTICE_DAYS)
    if facts.ytd_before_cents < MAJOR_DONOR.cents <= result.ytd_after_cents:
        result.major_donor = True
    for window in facts.late_windows:
        total = window.total_before_cents + amount
        if total >= LATE_CONTRIBUTION.cents:
            result.late_reports.append(
                LateReport(
                    election_on=window.election_on,
                    election_name=window.name,
                    window_total_cents=total,
                    due_on=facts.received_on + timedelta(days=1),
                )
            )
    return result


def in_late_window(received_on: date, election_on: date) -> bool:
    """The 90 days before an election, and election day itself (Form 497)."""
    return election_on - timedelta(days=LATE_WINDOW_DAYS) <= received_on <= election_on


def late_window_start(election_on: date) -> date:
    return election_on - timedelta(days=LATE_WINDOW_DAYS)


def calendar_year(day: date) -> tuple[date, date]:
    return date(day.year, 1, 1), date(day.year, 12, 31)


# ---------------------------------------------------------------------------------------------------------------
# The 60-day clock


class InfoState(StrEnum):
    DUE = "due"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"  # past day 60: the contribution must be returned
    RECEIVED = "received"
    RETURNED = "returned"


@dataclass(frozen=True)
class InfoClock:
    state: InfoState
    due_on: date
    days_left: int  # negative once overdue

    @property
    def message(self) -> str:
        if self.state is InfoState.RECEIVED:
            return "Information received"
        if self.state is InfoState.RETURNED:
            return "Returned"
        if self.state is InfoState.DUE_TODAY:
            return f"Due today ({self.due_on:%b %-d, %Y}): return the contribution tomorrow if still missing"
        if self.state is InfoState.OVERDUE:
            return (
                f"Overdue since {self.due_on:%b %-d, %Y}: return the contribution now "
                f"({-self.days_left} day{'s' if self.days_left != -1 else ''} late)"
            )
        return f"Due by {self.due_on:%b %-d, %Y} ({self.days_left} day{'s' if self.days_left != 1 else ''} left)"


def info_clock(received_on: date, today: date, *, info_received: bool = False, returned: bool = False) -> InfoClock:
    """Where a flagged contribution stands: day 60 after receipt is the last day, day 61 is overdue (§85700)."""
    due_on = received_on + timedelta(days=RETURN_DAYS)
    days_left = (due_on - today).days
    if returned:
        state = InfoState.RETURNED
    elif info_received:
        state = InfoState.RECEIVED
    elif days_left > 0:
        state = InfoState.DUE
    elif days_left == 0:
        state = InfoState.DUE_TODAY
    else:
        state = InfoState.OVERDUE
    return InfoClock(state=state, due_on=due_on, days_left=days_left)


#: Days after receipt on which the contributor is asked for missing information; each step is sent at most once.
INFO_REQUEST_DAYS = (0, 20, 40, 55)


def info_request_step(received_on: date, today: date) -> int | None:
    """The latest request step due on ``today`` (an index into ``INFO_REQUEST_DAYS``), None past the deadline."""
    elapsed = (today - received_on).days
    if elapsed < 0 or elapsed > RETURN_DAYS:
        return None
    due = [index for index, day in enumerate(INFO_REQUEST_DAYS) if elapsed >= day]
    return due[-1] if due else None


def paid_for_required(kind: str, sent_this_month_before: int) -> bool:
    """Receipts always say who paid for them; other CitiPAC mail once it becomes a mass mailing (§84305)."""
    return kind == "receipt" or sent_this_month_before + 1 > MASS_MAILING


# ---------------------------------------------------------------------------------------------------------------
# City money (DOMAIN.md §4.9): a pledge's payer must not be the city


#: Consumer mail providers: an official's login address at one of these is personal, not a city domain.
PERSONAL_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "comcast.net",
        "sbcglobal.net",
        "att.net",
        "verizon.net",
        "cox.net",
        "earthlink.net",
        "fastmail.com",
        "hey.com",
    }
)
_CITY_NAME_RE = re.compile(
    r"^\s*(the\s+)?(city|town|county)\s+(and\s+county\s+)?of\b|\bcity\s+(hall|council)\b", re.IGNORECASE
)


def _normalize_address(text: str) -> str:
    words = re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()
    abbreviations = {
        "street": "st",
        "avenue": "ave",
        "boulevard": "blvd",
        "road": "rd",
        "drive": "dr",
        "suite": "ste",
        "north": "n",
        "south": "s",
        "east": "e",
        "west": "w",
        "place": "pl",
    }
    return " ".join(abbreviations.get(w, w) for w in words)


def is_government_email_domain(domain: str) -> bool:
    domain = domain.lower().strip(".")
    labels = domain.split(".")
    return (
        domain.endswith((".gov", ".ca.us", ".mil"))
        or labels[0].startswith(("cityof", "townof", "ci-"))
        or labels[0] == "ci"
        or ".ci." in f".{domain}"
    )


@dataclass(frozen=True)
class PayerFacts:
    payer_name: str
    payer_street: str
    payer_email: str
    account_holder: AccountHolder
    city_name: str = ""
    city_official_name: str = ""
    city_hall_address: str = ""
    official_email: str = ""


def city_payer_refusals(facts: PayerFacts) -> list[str]:
    """Why a pledge's payer looks like the city (an official's city, its hall, its card or its mail domain)."""
    refusals: list[str] = []
    if facts.account_holder is AccountHolder.CITY:
        refusals.append(
            "A city card or city account cannot pay a CitiPAC contribution: that is city money, and public funds "
            "may not be used for political purposes (Gov. Code §8314, §85300). Pay from your personal funds, your "
            "business or your own campaign committee."
        )
    name = " ".join(facts.payer_name.split())
    city_names = {f"city of {n}".lower() for n in (facts.city_name, facts.city_official_name) if n}
    if name and (_CITY_NAME_RE.search(name) or name.lower() in city_names):
        refusals.append(
            f"The payer {name!r} is a city or city office. The money must come from you, your business or your "
            "own campaign committee, never from the city (Gov. Code §8314)."
        )
    street = _normalize_address(facts.payer_street)
    if street and (
        "city hall" in street
        or (facts.city_hall_address and street == _normalize_address(facts.city_hall_address.split(",")[0]))
    ):
        refusals.append(
            "That address is City Hall. Give your home or business address: CitiPAC mail must not go to city "
            "offices, and city resources may not be used for campaign activity (Gov. Code §8314)."
        )
    email = facts.payer_email.strip().lower()
    if email and "@" in email:
        domain = email.rsplit("@", 1)[1]
        official_domain = facts.official_email.lower().rsplit("@", 1)[1] if "@" in facts.official_email else ""
        if is_government_email_domain(domain):
            refusals.append(
                f"{email} is a government e-mail address. Give a personal or business address for CitiPAC mail: "
                "campaign activity may not use city e-mail (Gov. Code §8314)."
            )
        elif official_domain and domain == official_domain and domain not in PERSONAL_MAIL_DOMAINS:
            # Officials' accounts here are their city accounts (letters go out in their official capacity).
            refusals.append(
                f"{email} is at the same domain as the address your account uses for city business ({domain}). "
                "Give a personal or business address for CitiPAC mail: campaign activity may not use city e-mail "
                "(Gov. Code §8314)."
            )
    return refusals
