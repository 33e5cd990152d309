"""The treasurer's exports: a Schedule A ledger for any period, the 60-day report and the major-donor report.

The Schedule A file is vendor-neutral (DOMAIN.md §4.8: no .CAL writer): one row per itemized entry with the fields
Form 460 Schedule A and the CAL ``RCPT`` record carry, plus the street address, then one row with the unitemized
total. A source is itemized when its calendar-year total, as of the end of the period, is $100 or more (§4.2); blank
occupation and employer are written "requested" (§4.2: the column must not be left blank).

Every cell is safe to open in a spreadsheet: text starting with ``= + - @``, a tab or a carriage return gets a leading
apostrophe, so a contributor named ``=HYPERLINK(…)`` stays text. Plain numbers (``-25.00``) are left as numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from advocacy.accounts.models import User
from advocacy.citipac import rules, service
from advocacy.citipac.models import AlertKind, ComplianceAlert, Contributor, LedgerEntry
from advocacy.citipac.rules import ENTITY_CODES, ContributorKind
from advocacy.csvexport import to_csv

MAX_PERIOD_DAYS = 366 * 10

SCHEDULE_A_COLUMNS = (
    "TRAN_ID",
    "ENTITY_CD",
    "CTRIB_NAML",
    "CTRIB_NAMF",
    "CTRIB_NAMT",
    "CTRIB_NAMS",
    "CTRIB_ADR1",
    "CTRIB_CITY",
    "CTRIB_ST",
    "CTRIB_ZIP4",
    "CTRIB_OCC",
    "CTRIB_EMP",
    "CTRIB_SELF",
    "CMTE_ID",
    "RCPT_DATE",
    "AMOUNT",
    "CUM_YTD",
    "MEMO",
)
UNITEMIZED_ID = "UNITEMIZED"


def check_period(start: date | None, end: date | None) -> tuple[date, date]:
    if start is None or end is None:
        raise service.CitipacError("Give the period: from and to dates, like from=2026-01-01&to=2026-06-30.")
    if end < start:
        raise service.CitipacError("The period ends before it starts.")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise service.CitipacError("A period is at most ten years long.")
    return start, end


@dataclass(frozen=True)
class ScheduleARow:
    entry: LedgerEntry
    contributor: Contributor
    cumulative_cents: int


@dataclass(frozen=True)
class ScheduleA:
    start: date
    end: date
    itemized: list[ScheduleARow]
    unitemized_cents: int
    unitemized_count: int

    @property
    def itemized_cents(self) -> int:
        return sum(r.entry.amount_cents for r in self.itemized)


def schedule_a(session: Session, viewer: User, start: date | None, end: date | None) -> ScheduleA:
    """Entries received in ``[start, end]``, itemized or lumped as §4.2 says, with calendar-year cumulatives."""
    service.require_treasurer(viewer)
    start, end = check_period(start, end)
    rows = session.exec(
        select(LedgerEntry, Contributor)
        .join(Contributor, col(Contributor.id) == LedgerEntry.contributor_id)
        .where(col(LedgerEntry.received_on) >= date(start.year, 1, 1), col(LedgerEntry.received_on) <= end)
        .order_by(col(LedgerEntry.received_on), col(LedgerEntry.id))
    ).all()
    running: dict[tuple[int, int], int] = defaultdict(int)
    cumulative: dict[int, int] = {}
    for entry, contributor in rows:
        key = (int(contributor.id or 0), entry.received_on.year)
        running[key] += entry.amount_cents
        cumulative[int(entry.id or 0)] = running[key]
    # ``running`` now holds each source's total for each year as of the period's end (or that year's end).
    itemized: list[ScheduleARow] = []
    unitemized_cents = unitemized_count = 0
    for entry, contributor in rows:
        if entry.received_on < start:
            continue
        year_total = running[(int(contributor.id or 0), entry.received_on.year)]
        if contributor.kind is ContributorKind.ANONYMOUS or year_total < rules.ITEMIZATION.cents:
            unitemized_cents += entry.amount_cents
            unitemized_count += 1
        else:
            itemized.append(
                ScheduleARow(entry=entry, contributor=contributor, cumulative_cents=cumulative[int(entry.id or 0)])
            )
    return ScheduleA(
        start=start, end=end, itemized=itemized, unitemized_cents=unitemized_cents, unitemized_count=unitemized_count
    )


def _memo(entry: LedgerEntry) -> str:
    parts = [entry.memo] if entry.memo else []
    if entry.earmark:
        parts.append(f"Earmarked: {entry.earmark}")
    if entry.for_state_candidates:
        parts.append("For contributions to state candidates")
    return "; ".join(parts)


def schedule_a_csv(report: ScheduleA) -> str:
    rows: list[list[object]] = []
    for row in report.itemized:
        c, e = row.contributor, row.entry
        individual = c.kind is ContributorKind.INDIVIDUAL
        rows.append(
            [
                e.tran_id,
                ENTITY_CODES[c.kind],
                c.last_name if individual else c.organization_name,
                c.first_name if individual else "",
                c.name_title if individual else "",
                c.name_suffix if individual else "",
                c.street,
                c.city,
                c.state,
                c.zip_code,
                (c.occupation or "requested") if individual else "",
                (c.employer or "requested") if individual else "",
                "X" if individual and c.self_employed else "",
                c.committee_sos_id if c.kind.is_committee else "",
                e.received_on.isoformat(),
                rules.money(e.amount_cents),
                rules.money(row.cumulative_cents),
                _memo(e),
            ]
        )
    rows.append(
        [
            UNITEMIZED_ID,
            "",
            "Unitemized contributions (sources under $100 in the calendar year)",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            rules.money(report.unitemized_cents),
            "",
            f"{report.unitemized_count} entries, {report.start.isoformat()} to {report.end.isoformat()}",
        ]
    )
    return to_csv(SCHEDULE_A_COLUMNS, rows)


SIXTY_DAY_COLUMNS = (
    "TRAN_ID",
    "CONTRIBUTOR",
    "RCPT_DATE",
    "AMOUNT",
    "CUM_YTD",
    "MISSING",
    "RETURN_BY",
    "STATUS",
    "INFO_RECEIVED_ON",
    "REQUESTS_SENT",
)


def sixty_day_csv(
    session: Session, viewer: User, start: date | None, end: date | None, today: date | None = None
) -> str:
    """Contributions recorded without what §85700 needs, received in the period, and where each stands today."""
    service.require_treasurer(viewer)
    start, end = check_period(start, end)
    items = service.flagged_entries(session, today or service.today_in_california(), start=start, end=end)
    return to_csv(
        SIXTY_DAY_COLUMNS,
        [
            [
                i.entry.tran_id,
                i.contributor.display_name,
                i.entry.received_on.isoformat(),
                rules.money(i.entry.amount_cents),
                rules.money(i.entry.ytd_cents),
                "; ".join(i.missing),
                i.clock.due_on.isoformat(),
                i.clock.message,
                i.contributor.info_received_on.isoformat() if i.contributor.info_received_on and not i.missing else "",
                i.requests_sent,
            ]
            for i in items
        ],
    )


MAJOR_DONOR_COLUMNS = (
    "CONTRIBUTOR_ID",
    "ENTITY_CD",
    "NAME",
    "ADDRESS",
    "YEAR",
    "CUM_YTD",
    "REACHED_5000_ON",
    "NOTICE_84105",
    "REACHED_10000_ON",
    "MAJOR_DONOR",
)


def major_donor_csv(session: Session, viewer: User, year: int) -> str:
    """Sources of $5,000 or more in ``year``: when they crossed $5,000 and $10,000, and the §84105 notice."""
    service.require_treasurer(viewer)
    if not 2000 <= year <= 2100:
        raise service.CitipacError("The year must be between 2000 and 2100.")
    rows = session.exec(
        select(LedgerEntry, Contributor)
        .join(Contributor, col(Contributor.id) == LedgerEntry.contributor_id)
        .where(col(LedgerEntry.received_on) >= date(year, 1, 1), col(LedgerEntry.received_on) <= date(year, 12, 31))
        .order_by(col(LedgerEntry.received_on), col(LedgerEntry.id))
    ).all()
    totals: dict[int, int] = defaultdict(int)
    contributors: dict[int, Contributor] = {}
    crossed: dict[tuple[int, int], date] = {}
    for entry, contributor in rows:
        cid = int(contributor.id or 0)
        contributors[cid] = contributor
        totals[cid] += entry.amount_cents
        for threshold in (rules.NOTICE_84105.cents, rules.MAJOR_DONOR.cents):
            if totals[cid] >= threshold:
                crossed.setdefault((cid, threshold), entry.received_on)
    notices = {
        a.contributor_id: a
        for a in session.exec(
            select(ComplianceAlert).where(ComplianceAlert.kind == AlertKind.NOTICE_84105, ComplianceAlert.year == year)
        ).all()
    }
    out = []
    for cid, total in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        if total < rules.NOTICE_84105.cents:
            continue
        c = contributors[cid]
        notice = notices.get(cid)
        notice_text = (
            (notice.resolution or "done")
            if notice and notice.resolved_at
            else f"due {notice.due_on.isoformat()}"
            if notice and notice.due_on
            else ""
        )
        reached_10k = crossed.get((cid, rules.MAJOR_DONOR.cents))
        out.append(
            [
                cid,
                ENTITY_CODES[c.kind],
                c.display_name,
                c.address_line,
                year,
                rules.money(total),
                crossed[(cid, rules.NOTICE_84105.cents)].isoformat()
                if (cid, rules.NOTICE_84105.cents) in crossed
                else "",
                notice_text,
                reached_10k.isoformat() if reached_10k else "",
                "yes" if total >= rules.MAJOR_DONOR.cents else "no",
            ]
        )
    return to_csv(MAJOR_DONOR_COLUMNS, out)
