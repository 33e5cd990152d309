"""Committee letter rules: the deadline rule, channels and position listing of each committee, and their seeds.

The seeds are the committees of DOMAIN.md §1.6 (deadlines), §1.5 (how positions are listed) and §1.2 (channels),
matched by chamber and name against the Committee table. Committees change their rules every session: each rule
keeps its source link and the date it was checked, and staff edit them on the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from advocacy.accounts.models import User
from advocacy.campaigns.console_models import CommitteeRule, Listing, RuleKind
from advocacy.campaigns.deadlines import DeadlineRule, RuleError, parse_time
from advocacy.db import utcnow
from advocacy.directory.models import Committee

# The date DOMAIN.md's committee pages were read (its compilation date): a seeded rule is "checked" as of then.
SEEDS_CHECKED_ON = date(2026, 11, 26)
MON, TUE, WED, THU, FRI = range(5)
NOON, THREE_PM, FIVE_PM = time(12, 0), time(15, 0), time(17, 0)


@dataclass(frozen=True)
class Seed:
    chamber: str
    name: str
    rule: DeadlineRule
    source_url: str
    notes: str
    listing: Listing = Listing.UNKNOWN
    portal: bool = True
    email: bool = False
    mail: bool = True


SEEDS: tuple[Seed, ...] = (
    Seed(
        "Assembly",
        "Housing and Community Development",
        DeadlineRule(RuleKind.BUSINESS_DAYS, days=5, at=FIVE_PM),
        "https://ahcd.assembly.ca.gov/",
        "5 business days before the hearing (AHCD FAQ). Portal, or mail / hand delivery.",
    ),
    Seed(
        "Assembly",
        "Local Government",
        DeadlineRule(RuleKind.WEEKDAY_BEFORE, weekday=THU, at=FIVE_PM),
        "https://alcl.assembly.ca.gov/",
        "5:00 p.m. Thursday before a Wednesday hearing.",
    ),
    Seed(
        "Assembly",
        "Communications and Conveyance",
        DeadlineRule(RuleKind.WEEKDAY_PRIOR_WEEK, weekday=FRI, at=NOON),
        "https://acom.assembly.ca.gov/letter-support-or-opposition-rules",
        "12:00 p.m. Friday of the week before the hearing.",
    ),
    Seed(
        "Assembly",
        "Elections",
        DeadlineRule(RuleKind.WEEKDAY_PRIOR_WEEK, weekday=THU, at=FIVE_PM),
        "https://aelc.assembly.ca.gov/faq",
        "Close of business Thursday of the week before a Wednesday hearing.",
    ),
    Seed(
        "Assembly",
        "Environmental Safety and Toxic Materials",
        DeadlineRule(RuleKind.WEEKDAY_PRIOR_WEEK, weekday=MON, at=FIVE_PM),
        "https://aesm.assembly.ca.gov/node/54",
        "5:00 p.m. at least 8 days before: the Monday a week before a Tuesday hearing. Some letters from "
        "individuals are reported only as a count.",
    ),
    Seed(
        "Senate",
        "Judiciary",
        DeadlineRule(RuleKind.WEEKDAY_PRIOR_WEEK, weekday=TUE, at=NOON),
        "https://sjud.senate.ca.gov/content/senate-judiciary-committee-policy-support-and-opposition-letters",
        "12:00 p.m. Tuesday one week before the (Tuesday) hearing (2025 policy). Portal encouraged; also the "
        "committee e-mail, fax or mail.",
        listing=Listing.SUPPORT_OPPOSE,
        email=True,
    ),
    Seed(
        "Senate",
        "Housing",
        DeadlineRule(RuleKind.WEEKDAY_BEFORE, weekday=WED, at=NOON),
        "https://shou.senate.ca.gov/node/15",
        "12:00 p.m. Wednesday before the hearing (2019-20 FAQ: noon, 6 days "
        "before). Organizations: portal or mail only, please do not e-mail staff.",
        listing=Listing.SUPPORT_OPPOSE,
    ),
    Seed(
        "Senate",
        "Environmental Quality",
        DeadlineRule(RuleKind.CALENDAR_DAYS, days=9, at=NOON),
        "https://senv.senate.ca.gov/content/position-letters",
        "12:00 p.m., 9 calendar days before the hearing.",
        listing=Listing.NO_CONDITIONAL,
    ),
    Seed(
        "Senate",
        "Human Services",
        DeadlineRule(RuleKind.WEEKDAY_BEFORE, weekday=TUE, at=NOON),
        "https://shum.senate.ca.gov/content/position-letters",
        "Noon Tuesday before the hearing (2017-18: noon Wednesday).",
        listing=Listing.NO_CONDITIONAL,
    ),
    Seed(
        "Senate",
        "Elections and Constitutional Amendments",
        DeadlineRule(RuleKind.WEEKDAY_BEFORE, weekday=THU, at=THREE_PM),
        "https://selc.senate.ca.gov/content/policy-support-and-opposition-letters",
        "3 p.m. Thursday before (another version of the page: 5 p.m. Wednesday). Portal, fax or mail.",
    ),
    Seed(
        "Senate",
        "Natural Resources and Water",
        DeadlineRule(RuleKind.BUSINESS_DAYS, days=7, at=FIVE_PM),
        "https://sntr.senate.ca.gov/content/position-letters",
        "5:00 p.m., 7 business days before the Tuesday hearing (2015-16 page).",
        listing=Listing.ALL_FOUR,
    ),
    Seed(
        "Senate",
        "Rules",
        DeadlineRule(RuleKind.WEEKDAY_BEFORE, weekday=TUE, at=NOON),
        "https://srul.senate.ca.gov/",
        "Noon Tuesday before a Wednesday hearing.",
    ),
)

#: What staff and signers are told about a position at a committee with a given listing (DOMAIN.md §1.5, §8.2).
_SIA = "Support if Amended"
_OUA = "Oppose Unless Amended"


def listing_warnings(listing: Listing | str, position: str) -> list[str]:
    """Warnings for ``position`` (a Position value) at a committee that lists positions as ``listing``."""
    listing = Listing(listing)
    if listing is Listing.NONE:
        return ["This committee's analysis lists no positions at all."]
    if position == _SIA and listing is not Listing.ALL_FOUR:
        return ["“Support if Amended” letters are filed but may not be listed in the committee's analysis."]
    if position == _OUA and listing is Listing.NO_CONDITIONAL:
        return ["This committee lists neither conditional position: “Oppose Unless Amended” may not be listed."]
    if position == _OUA and listing is not Listing.ALL_FOUR:
        return ["“Oppose Unless Amended” is listed as opposition in the committee's analysis."]
    return []


def deadline_rule_of(rule: CommitteeRule) -> DeadlineRule:
    return DeadlineRule(RuleKind(rule.kind), days=rule.days, weekday=rule.weekday, at=parse_time(rule.at_time))


def rule_for(session: Session, committee_id: int) -> CommitteeRule | None:
    return session.exec(select(CommitteeRule).where(CommitteeRule.committee_id == committee_id)).first()


def rules_by_committee(session: Session) -> dict[int, CommitteeRule]:
    return {r.committee_id: r for r in session.exec(select(CommitteeRule)).all()}


def find_committee(session: Session, chamber: str, name: str) -> Committee | None:
    """A committee by chamber and name (also its alternative names), case-insensitively."""
    wanted = name.strip().lower()
    for committee in session.exec(select(Committee).where(Committee.chamber == chamber).order_by(col(Committee.id))):
        names = [committee.name, *committee.other_names.splitlines()]
        if wanted in (n.strip().lower() for n in names):
            return committee
    return None


def seed_rules(session: Session) -> tuple[int, list[str]]:
    """Create the DOMAIN.md §1.6 rules for committees that have none yet; returns (created, names not found).

    Rules staff already edited are left alone. Commits."""
    created, missing = 0, []
    for seed in SEEDS:
        committee = find_committee(session, seed.chamber, seed.name)
        if committee is None or committee.id is None:
            missing.append(f"{seed.chamber} {seed.name}")
            continue
        if rule_for(session, committee.id) is not None:
            continue
        session.add(
            CommitteeRule(
                committee_id=committee.id,
                kind=seed.rule.kind,
                days=seed.rule.days,
                weekday=seed.rule.weekday,
                at_time=seed.rule.at.strftime("%H:%M"),
                source_url=seed.source_url,
                checked_on=SEEDS_CHECKED_ON,
                accepts_portal=seed.portal,
                accepts_email=seed.email,
                accepts_mail=seed.mail,
                listing=seed.listing,
                notes=seed.notes,
            )
        )
        created += 1
    session.commit()
    return created, missing


@dataclass
class RuleInput:
    """A rule as staff enter it (form or API): strings and simple values, checked by ``save_rule``."""

    kind: str
    days: int = 0
    weekday: int = 0
    at_time: str = "17:00"
    source_url: str = ""
    checked_on: date | None = None
    accepts_portal: bool = True
    accepts_email: bool = False
    accepts_mail: bool = True
    listing: str = Listing.UNKNOWN
    notes: str = ""


def save_rule(session: Session, committee_id: int, data: RuleInput, user: User | None) -> CommitteeRule:
    """Create or replace a committee's rule; ``RuleError`` (nothing changed) on bad input. Commits."""
    if session.get(Committee, committee_id) is None:
        raise RuleError(f"There is no committee with id {committee_id}.")
    try:
        kind = RuleKind(data.kind)
        listing = Listing(data.listing)
    except ValueError:
        raise RuleError(f"Choose a rule kind ({', '.join(RuleKind)}) and a listing ({', '.join(Listing)}).") from None
    at = parse_time(data.at_time)
    DeadlineRule(kind, days=data.days, weekday=data.weekday, at=at)  # validates the numbers
    url = data.source_url.strip()
    if url and not url.startswith(("https://", "http://")):
        raise RuleError("The source must be a web address starting with https://.")
    if not (data.accepts_portal or data.accepts_email or data.accepts_mail):
        raise RuleError("A committee must accept letters through at least one channel.")
    rule = rule_for(session, committee_id) or CommitteeRule(committee_id=committee_id)
    rule.kind, rule.days, rule.weekday, rule.at_time = kind, data.days, data.weekday, at.strftime("%H:%M")
    rule.source_url, rule.checked_on, rule.listing, rule.notes = url[:300], data.checked_on, listing, data.notes.strip()
    rule.accepts_portal, rule.accepts_email = data.accepts_portal, data.accepts_email
    rule.accepts_mail = data.accepts_mail
    rule.updated_at, rule.updated_by_id = utcnow(), user.id if user else None
    session.add(rule)
    session.commit()
    return rule


def channels(rule: CommitteeRule) -> list[str]:
    return [
        name
        for name, ok in (("portal", rule.accepts_portal), ("e-mail", rule.accepts_email), ("mail", rule.accepts_mail))
        if ok
    ]


def checked_label(rule: CommitteeRule, now: datetime | None = None) -> str:
    if rule.checked_on is None:
        return "never checked"
    age = ((now or utcnow()).date() - rule.checked_on).days
    stale = " (over a year ago: check it again)" if age > 365 else ""
    return f"checked {rule.checked_on.isoformat()}{stale}"
