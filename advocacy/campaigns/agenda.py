"""The Action Agenda: the bills the league works on, its position on each, "hot" priority, policy area, talking
points, and the bill facts staff keep current (status, version date, the committee now hearing it).

Staff edit one bill at a time or import many from CSV or JSON (including the shipped ``bills.json``). An import is
checked whole before anything is written: one bad row names its line and nothing changes. A new version date or a
new committee is a new stage for the bill's campaigns (``campaigns.stale``): their out-of-date letters are listed and
their signers asked to re-confirm.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from advocacy import DATA_DIR
from advocacy.accounts.models import User
from advocacy.campaigns.console_models import AgendaItem
from advocacy.campaigns.models import Position
from advocacy.db import utcnow
from advocacy.directory.models import Bill, Chamber, Committee

#: Cal Cities' policy areas (its policy committees).
POLICY_AREAS = (
    "Community Services",
    "Environmental Quality",
    "Governance, Transparency, and Labor Relations",
    "Housing, Community, and Economic Development",
    "Public Safety",
    "Revenue and Taxation",
    "Transportation, Communications, and Public Works",
)
#: The shipped data's topic tags and the policy area each belongs to (the first tag of a bill decides).
TOPIC_AREAS = {
    "housing": POLICY_AREAS[3],
    "land_use_local_control": POLICY_AREAS[3],
    "homelessness": POLICY_AREAS[3],
    "local_finance_revenue": POLICY_AREAS[5],
    "ceqa_environment": POLICY_AREAS[1],
    "public_safety": POLICY_AREAS[4],
}
ASSEMBLY_MEASURES = ("AB", "ACA", "ACR", "AJR", "HR")
SENATE_MEASURES = ("SB", "SCA", "SCR", "SJR", "SR")
BILL_SESSION = "20252026"
_LABEL = re.compile(r"^\s*([A-Za-z]{2,3})\s*-?\s*(\d{1,5})\s*$")
MAX_ROWS = 5_000


class AgendaError(ValueError):
    """Bad agenda input; ``errors`` lists each problem with its line. Nothing was changed."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""))
        self.errors = errors


@dataclass
class AgendaInput:
    """One bill's agenda entry as given; ``None`` leaves a field as it is."""

    label: str
    line: int = 0
    position: str | None = None
    hot: bool | None = None
    policy_area: str | None = None
    talking_points: str | None = None
    status: str | None = None
    version_date: date | None = None
    committee: str | None = None  # "Assembly Local Government", an ocd id, or "" for none
    title: str | None = None  # needed for a bill not in the data yet
    author: str | None = None


@dataclass
class ImportReport:
    bills_created: int = 0
    bills_updated: int = 0
    agenda_created: int = 0
    agenda_updated: int = 0
    stage_changes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.agenda_created} bill(s) added to the agenda, {self.agenda_updated} updated; "
            f"{self.bills_created} new bill(s) created"
        )
        if self.stage_changes:
            text += f"; {len(self.stage_changes)} campaign(s) moved to a new stage"
        return text


@dataclass(frozen=True)
class AgendaRow:
    bill: Bill
    item: AgendaItem | None
    committee: Committee | None


# ----------------------------------------------------------------------------------------------- reading


def _flag(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "yes", "y", "true", "hot", "x"):
        return True
    if text in ("0", "no", "n", "false"):
        return False
    raise ValueError(f"hot: {value!r} is not yes or no")


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date like 2026-03-16") from None


def _points(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "\n".join(str(v).strip() for v in value if str(v).strip())
    # One cell of a spreadsheet: points separated by line breaks or by " | ".
    return "\n".join(p.strip() for p in re.split(r"\n|\s\|\s", str(value)) if p.strip())


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _input(line: int, item: dict[str, Any]) -> AgendaInput:
    label = item.get("bill") or item.get("bill_id") or item.get("label") or ""
    topics = item.get("topics")
    area = _text(item.get("policy_area"))
    if area is None and isinstance(topics, list) and topics:
        area = TOPIC_AREAS.get(str(topics[0]), "")
    committee = item.get("committee", item.get("pending_committee_id", item.get("pending_committee")))
    if isinstance(committee, str) and committee.strip().lower() in ("-", "none"):
        committee = ""  # how a spreadsheet says "no committee now" (an empty cell leaves it unchanged)
    return AgendaInput(
        label=str(label),
        line=line,
        position=_text(item.get("position")),
        hot=_flag(item.get("hot")),
        policy_area=area,
        talking_points=_points(item.get("talking_points")),
        status=_text(item.get("status")),
        version_date=_date(item.get("version_date")),
        committee=_text(committee),
        title=_text(item.get("title")),
        author=_text(item.get("author")),
    )


def parse_csv(text: str) -> list[AgendaInput]:
    """Rows of a CSV with a header: ``bill`` (required), ``position``, ``hot``, ``policy_area``, ``talking_points``,
    ``status``, ``version_date``, ``committee``, ``title``, ``author``. Empty cells leave a field unchanged."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "bill" not in [f.strip().lower() for f in reader.fieldnames]:
        raise AgendaError(["line 1: the first row must name the columns, including “bill”"])
    rows, errors = [], []
    for number, raw in enumerate(reader, start=2):
        item = {k.strip().lower(): (v if v != "" else None) for k, v in raw.items() if k}
        try:
            rows.append(_input(number, item))
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    if errors:
        raise AgendaError(errors)
    return rows


def parse_json(text: str) -> list[AgendaInput]:
    """A JSON list of objects with the CSV's keys, or the shipped ``bills.json`` (``{"bills": [...]}``)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AgendaError([f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from None
    items = document.get("bills") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise AgendaError(['expected a list of bills, or an object with a "bills" list'])
    rows, errors = [], []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(f"item {index}: each bill must be an object")
            continue
        try:
            rows.append(_input(index, item))
        except ValueError as exc:
            errors.append(f"item {index}: {exc}")
    if errors:
        raise AgendaError(errors)
    return rows


# ----------------------------------------------------------------------------------------------- writing


def split_label(label: str) -> tuple[str, int] | None:
    match = _LABEL.match(label)
    return (match.group(1).upper(), int(match.group(2))) if match else None


def find_committee_ref(session: Session, text: str) -> Committee | None:
    """ "Assembly Local Government", "Assembly Committee on Local Government", an Open States id, or an id."""
    text = " ".join(text.split())
    if text.startswith("ocd-organization/"):
        return session.exec(select(Committee).where(Committee.ocd_id == text)).first()
    if text.isdigit():
        return session.get(Committee, int(text))
    chamber, _, rest = text.partition(" ")
    rest = rest.removeprefix("Committee on ").strip()
    if chamber not in (c.value for c in Chamber):
        return None
    from advocacy.campaigns.committee_rules import find_committee

    return find_committee(session, chamber, rest)


@dataclass
class _Planned:
    row: AgendaInput
    bill: Bill | None
    key: tuple[str, int]
    committee: Committee | None
    clear_committee: bool


def _plan(session: Session, rows: list[AgendaInput]) -> list[_Planned]:
    errors: list[str] = []
    planned: list[_Planned] = []
    seen: set[tuple[str, int]] = set()
    if len(rows) > MAX_ROWS:
        raise AgendaError([f"at most {MAX_ROWS:,} bills per import"])
    for row in rows:
        where = f"line {row.line}: " if row.line else ""
        key = split_label(row.label)
        if key is None:
            errors.append(f"{where}{row.label!r} is not a bill like “AB 1234”")
            continue
        if key in seen:
            errors.append(f"{where}{key[0]} {key[1]} appears twice")
        seen.add(key)
        if key[0] not in ASSEMBLY_MEASURES + SENATE_MEASURES:
            errors.append(f"{where}unknown measure type {key[0]}")
        bill = session.exec(select(Bill).where(Bill.measure_type == key[0], Bill.number == key[1])).first()
        if bill is None and not row.title:
            errors.append(f"{where}{key[0]} {key[1]} is not in the data: give its title to add it")
        if row.position and row.position not in {p.value for p in Position}:
            errors.append(f"{where}unknown position {row.position!r}; one of: {', '.join(Position)}")
        if row.policy_area and row.policy_area not in POLICY_AREAS:
            errors.append(f"{where}unknown policy area {row.policy_area!r}; one of: {'; '.join(POLICY_AREAS)}")
        if row.status is not None and len(row.status) > 40:
            errors.append(f"{where}the status takes at most 40 characters")
        committee = find_committee_ref(session, row.committee) if row.committee else None
        if row.committee and committee is None:
            errors.append(f"{where}no committee {row.committee!r} (write it like “Assembly Local Government”)")
        planned.append(_Planned(row, bill, key, committee, row.committee == ""))
    if errors:
        raise AgendaError(errors)
    return planned


def import_rows(session: Session, rows: list[AgendaInput], user: User | None) -> ImportReport:
    """Apply agenda rows (all checked first: ``AgendaError`` changes nothing). Commits once."""
    from advocacy.campaigns import stale

    planned = _plan(session, rows)
    report = ImportReport()
    for entry in planned:
        bill = entry.bill or _new_bill(session, entry)
        report.bills_created += entry.bill is None
        report.bills_updated += entry.bill is not None
        before = (bill.version_date, bill.committee_id)
        _apply_bill_facts(bill, entry)
        session.add(bill)
        session.flush()
        item = agenda_item(session, bill.id or 0)
        created = item is None
        item = item or AgendaItem(bill_id=bill.id or 0)
        _apply_agenda(item, entry.row, user)
        session.add(item)
        report.agenda_created += created
        report.agenda_updated += not created
        if (bill.version_date, bill.committee_id) != before:
            report.stage_changes += stale.follow_bill(session, bill, user)
    session.commit()
    return report


def _new_bill(session: Session, entry: _Planned) -> Bill:
    measure, number = entry.key
    row = entry.row
    bill = Bill(
        session=BILL_SESSION,
        measure_type=measure,
        number=number,
        origin_chamber=Chamber.ASSEMBLY if measure in ASSEMBLY_MEASURES else Chamber.SENATE,
        title=row.title or "",
        author_name=row.author or "",
        status=row.status or "Introduced",
        version_date=row.version_date,
    )
    session.add(bill)
    session.flush()
    return bill


def _apply_bill_facts(bill: Bill, entry: _Planned) -> None:
    row = entry.row
    if row.status:
        bill.status = row.status
        bill.status_date = utcnow().date()
    if row.version_date is not None:
        bill.version_date = row.version_date
    if row.title and not bill.title:
        bill.title = row.title
    if entry.committee is not None:
        bill.committee_id = entry.committee.id
        bill.pending_committee_name = f"{entry.committee.chamber} {entry.committee.name}"
    elif entry.clear_committee:
        bill.committee_id, bill.pending_committee_name = None, ""


def _apply_agenda(item: AgendaItem, row: AgendaInput, user: User | None) -> None:
    if row.position is not None:
        item.position = row.position
    if row.hot is not None:
        item.hot = row.hot
    if row.policy_area is not None:
        item.policy_area = row.policy_area
    if row.talking_points is not None:
        item.talking_points = row.talking_points
    item.updated_at, item.updated_by_id = utcnow(), user.id if user else None


def import_file(session: Session, filename: str, content: bytes, user: User | None) -> ImportReport:
    """An uploaded ``.csv`` or ``.json`` file."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise AgendaError(["the file is not UTF-8 text (save it as “CSV UTF-8”)"]) from None
    name = filename.lower()
    if name.endswith(".json") or text.lstrip().startswith(("[", "{")):
        return import_rows(session, parse_json(text), user)
    if name.endswith(".csv") or "," in text.partition("\n")[0]:
        return import_rows(session, parse_csv(text), user)
    raise AgendaError(["upload a .csv or .json file"])


def import_shipped(session: Session, user: User | None) -> ImportReport:
    """Put every bill of the shipped ``bills.json`` on the agenda (policy area from its topics); positions stay
    as staff set them. Bills must have been loaded (``advocacy data load``)."""
    document = json.loads((DATA_DIR / "bills.json").read_text(encoding="utf-8"))
    rows = []
    for index, item in enumerate(document.get("bills", []), start=1):
        topics = item.get("topics") or []
        rows.append(
            AgendaInput(
                label=str(item.get("bill_id", "")),
                line=index,
                policy_area=TOPIC_AREAS.get(topics[0], "") if topics else None,
            )
        )
    return import_rows(session, rows, user)


def update_agenda(session: Session, bill_id: int, data: AgendaInput, user: User | None) -> ImportReport:
    """Edit one bill (the console's form, the API's PATCH)."""
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise AgendaError([f"There is no bill with id {bill_id}."])
    data.label = bill.label
    return import_rows(session, [data], user)


# ----------------------------------------------------------------------------------------------- reading back


def agenda_item(session: Session, bill_id: int) -> AgendaItem | None:
    return session.exec(select(AgendaItem).where(AgendaItem.bill_id == bill_id)).first()


def agenda_rows(
    session: Session, *, hot_only: bool = False, policy_area: str = "", q: str = "", on_agenda_only: bool = True
) -> list[AgendaRow]:
    """Bills on the agenda (hot first, then by label); ``on_agenda_only=False`` lists every bill."""
    query = select(Bill, AgendaItem).join(AgendaItem, col(AgendaItem.bill_id) == Bill.id, isouter=not on_agenda_only)
    if hot_only:
        query = query.where(col(AgendaItem.hot).is_(True))
    if policy_area:
        query = query.where(AgendaItem.policy_area == policy_area)
    key = split_label(q) if q else None
    if key:
        query = query.where(Bill.measure_type == key[0], Bill.number == key[1])
    elif q:
        query = query.where(col(Bill.title).ilike(f"%{q.strip()}%"))
    rows = session.exec(query.order_by(col(Bill.measure_type), col(Bill.number))).all()
    committees = {c.id: c for c in session.exec(select(Committee)).all()}
    result = [AgendaRow(bill, item, committees.get(bill.committee_id)) for bill, item in rows]
    return sorted(result, key=lambda r: (not (r.item and r.item.hot), r.bill.measure_type, r.bill.number))
