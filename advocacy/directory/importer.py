"""Load the shipped California data (advocacy/data/) into the directory tables.

Every file is read and checked first; then all rows are upserted on their natural keys (Census GEOID, Open States
id, session + measure type + number) in one transaction. A malformed file raises ``DataError(file, line,
reason)`` and the database is left exactly as it was. Loading the same files twice changes nothing.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from advocacy import DATA_DIR
from advocacy.directory.models import (
    Bill,
    BillAction,
    Chamber,
    City,
    CityDistrict,
    Committee,
    CommitteeMembership,
    DataImport,
    DistrictChamber,
    Division,
    Legislator,
    LegislatorOffice,
)

# Reports progress: (table being written, rows done so far, rows in all files).
Progress = Callable[[str, int, int], None]
M = TypeVar("M", bound=SQLModel)

BILL_SESSION = "20252026"
TABLES = (
    "divisions",
    "cities",
    "city_districts",
    "legislators",
    "legislator_offices",
    "committees",
    "committee_memberships",
    "bills",
    "bill_actions",
)
DISTRICT_COUNT = {"lower": 80, "upper": 40}


class DataError(Exception):
    """A reference-data file is malformed; nothing was changed."""

    def __init__(self, file: str | Path, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file, self.line, self.reason = str(file), line, reason


@dataclass
class Tally:
    """What one load did to one table."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


@dataclass
class LoadReport:
    tables: dict[str, Tally] = field(default_factory=lambda: {name: Tally() for name in TABLES})
    kept_refreshed: bool = False  # legislators and committees were left as the last Open States refresh made them

    def as_dict(self) -> dict[str, int]:
        """Rows per table, total created/updated/unchanged/deleted, and each table's own breakdown."""
        result = {name: tally.rows for name, tally in self.tables.items()}
        for outcome in ("created", "updated", "unchanged", "deleted"):
            result[outcome] = sum(getattr(t, outcome) for t in self.tables.values())
            for name, tally in self.tables.items():
                result[f"{name}.{outcome}"] = getattr(tally, outcome)
        return result


@dataclass
class Record:
    """One parsed row: its values for the table, and where it came from (for error messages)."""

    file: str
    line: int
    values: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)  # natural keys of the rows it points to


# ---------------------------------------------------------------------------------------------- parsing helpers


def _csv_rows(path: Path, columns: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each row; the header must name every expected column."""
    if not path.exists():
        raise DataError(path, 0, "file is missing")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(path, 1, f"missing column(s): {', '.join(missing)}")
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise DataError(path, reader.line_num, f"expected {len(header)} columns")
            yield reader.line_num, row


def _int(path: Path, line: int, name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise DataError(path, line, f"{name}: {value!r} is not a whole number") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise DataError(path, line, f"{name}: {number} is outside {low} to {high}")
    return number


def _float(path: Path, line: int, name: str, value: str, *, optional: bool = False) -> float | None:
    if optional and not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise DataError(path, line, f"{name}: {value!r} is not a number") from None


def _date(path: Path, line: int, name: str, value: Any, *, optional: bool = True) -> date | None:
    if value in (None, "") and optional:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DataError(path, line, f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _choice(path: Path, line: int, name: str, value: str, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if value not in options:
        raise DataError(path, line, f"{name}: {value!r} is not one of {', '.join(options)}")
    return value


def _required(path: Path, line: int, name: str, value: str) -> str:
    if not value.strip():
        raise DataError(path, line, f"{name}: empty")
    return value.strip()


def _line_of(text: str, needle: str) -> int:
    """The line of ``text`` where ``needle`` first appears (JSON and YAML records are located this way)."""
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


def slugify(name: str) -> str:
    """ "Los Angeles County" -> "los-angeles-county"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def is_member(note: str) -> bool:
    """A city is a league member unless its note says it is a nonmember or voted to leave."""
    text = note.lower()
    return not any(flag in text for flag in ("nonmember", "non-member", "withdraw", "leave cal cities"))


def normalize_role(role: str) -> str:
    """Open States writes both "vice chair" and "vice-chair"; keep one spelling."""
    return " ".join(role.strip().lower().replace("-chair", " chair").split()) or "member"


def _is_amendment(action: str) -> bool:
    # A concurrence vote accepts the other house's amendments; it makes no new version of the bill.
    text = action.lower()
    return "amend" in text and "concurr" not in text


# ---------------------------------------------------------------------------------------------- reading files


@dataclass
class ShippedData:
    divisions: list[Record]
    cities: list[Record]
    city_districts: list[Record]
    legislators: list[Record]
    offices: list[Record]
    committees: list[Record]
    memberships: list[Record]
    bills: list[Record]
    actions: list[Record]

    @property
    def row_count(self) -> int:
        return sum(len(getattr(self, name)) for name in self.__dataclass_fields__)


def read_shipped_data(data_dir: Path = DATA_DIR) -> ShippedData:
    """Parse and cross-check every file; raises ``DataError`` on the first problem."""
    divisions = _read_divisions(data_dir / "divisions.csv")
    cities = _read_cities(data_dir / "cities.csv", {r.values["name"] for r in divisions})
    districts = _read_city_districts(data_dir / "city_districts.csv", {r.values["geoid"] for r in cities})
    legislators = _read_legislators(data_dir / "legislators.csv")
    people = {r.values["ocd_id"] for r in legislators}
    offices = _read_offices(data_dir / "legislator_offices.csv", people)
    committees, memberships = _read_committees(data_dir / "committees.json", people)
    bills, actions = _read_bills(data_dir / "bills.json", people, {r.values["ocd_id"] for r in committees})
    return ShippedData(divisions, cities, districts, legislators, offices, committees, memberships, bills, actions)


def _read_divisions(path: Path) -> list[Record]:
    records = []
    for line, row in _csv_rows(
        path, ("division", "counties_whole", "counties_partial", "composition_confidence", "sources", "notes")
    ):
        name = row["division"].strip()
        if not name:
            raise DataError(path, line, "division: empty name")
        records.append(
            Record(
                str(path),
                line,
                {
                    "slug": slugify(name),
                    "name": name,
                    "counties_whole": row["counties_whole"],
                    "counties_partial": row["counties_partial"],
                    "composition_confidence": row["composition_confidence"],
                    "sources": row["sources"],
                    "notes": row["notes"],
                },
            )
        )
    _unique(path, records, "name")
    return records


def _read_cities(path: Path, divisions: set[str]) -> list[Record]:
    records = []
    columns = (
        "place_geoid",
        "ocd_division_id",
        "name",
        "official_name",
        "lsad",
        "county",
        "county_fips",
        "latitude",
        "longitude",
        "division",
        "division_confidence",
        "division_basis",
        "cal_cities_membership_note",
    )
    for line, row in _csv_rows(path, columns):
        geoid = row["place_geoid"].strip()
        if not re.fullmatch(r"06\d{5}", geoid):
            raise DataError(path, line, f"place_geoid: {geoid!r} is not a California place GEOID (06 + 5 digits)")
        division = row["division"].strip()
        if division and division not in divisions:
            raise DataError(path, line, f"division: unknown division {division!r}")
        note = row["cal_cities_membership_note"].strip()
        records.append(
            Record(
                str(path),
                line,
                {
                    "geoid": geoid,
                    "ocd_id": row["ocd_division_id"],
                    "name": row["name"].strip(),
                    "official_name": row["official_name"].strip(),
                    "lsad": _choice(path, line, "lsad", row["lsad"], ("city", "town")),
                    "county": row["county"],
                    "county_fips": row["county_fips"],
                    "latitude": _float(path, line, "latitude", row["latitude"], optional=True),
                    "longitude": _float(path, line, "longitude", row["longitude"], optional=True),
                    "division_confidence": row["division_confidence"],
                    "division_basis": row["division_basis"],
                    "is_member": is_member(note),
                    "membership_note": note,
                },
                refs={"division": division or None},
            )
        )
    _unique(path, records, "geoid")
    return records


def _read_city_districts(path: Path, cities: set[str]) -> list[Record]:
    records = []
    for line, row in _csv_rows(path, ("city_id", "chamber", "district", "share")):
        geoid = row["city_id"].strip()
        if geoid not in cities:
            raise DataError(path, line, f"city_id: no city {geoid!r} in cities.csv")
        chamber = _choice(path, line, "chamber", row["chamber"], DISTRICT_COUNT)
        district = _int(path, line, "district", row["district"], 1, DISTRICT_COUNT[chamber])
        share = _float(path, line, "share", row["share"])
        if share is None or not 0 <= share <= 1:
            raise DataError(path, line, f"share: {row['share']!r} is not between 0 and 1")
        values = {"chamber": DistrictChamber(chamber), "district": district, "share": share}
        records.append(Record(str(path), line, values, refs={"city": geoid}))
    seen: set[tuple[str, str, int]] = set()
    for record in records:
        key = (record.refs["city"], record.values["chamber"], record.values["district"])
        if key in seen:
            raise DataError(path, record.line, f"duplicate row for city {key[0]} {key[1]} district {key[2]}")
        seen.add(key)
    return records


def _read_legislators(path: Path) -> list[Record]:
    records = []
    columns = (
        "ocd_id",
        "name",
        "given_name",
        "family_name",
        "chamber",
        "district",
        "party",
        "start_date",
        "email",
        "capitol_address",
        "capitol_phone",
        "capitol_fax",
        "website",
        "image",
    )
    for line, row in _csv_rows(path, columns):
        if not row["ocd_id"].startswith("ocd-person/"):
            raise DataError(path, line, f"ocd_id: {row['ocd_id']!r} is not an Open States person id")
        chamber = _choice(path, line, "chamber", row["chamber"], ("Assembly", "Senate"))
        high = 80 if chamber == "Assembly" else 40
        records.append(
            Record(
                str(path),
                line,
                {
                    "ocd_id": row["ocd_id"],
                    "name": row["name"].strip(),
                    "given_name": row["given_name"],
                    "family_name": row["family_name"],
                    "chamber": Chamber(chamber),
                    "district": _int(path, line, "district", row["district"], 1, high),
                    "party": row["party"],
                    "start_date": _date(path, line, "start_date", row["start_date"]),
                    "email": row["email"].strip(),
                    "capitol_address": row["capitol_address"],
                    "capitol_phone": row["capitol_phone"],
                    "capitol_fax": row["capitol_fax"],
                    "website": row["website"],
                    "image": row["image"],
                    "active": True,
                },
            )
        )
    _unique(path, records, "ocd_id")
    return records


def _read_offices(path: Path, people: set[str]) -> list[Record]:
    records = []
    for line, row in _csv_rows(path, ("ocd_id", "classification", "office_name", "address", "voice", "fax")):
        if row["ocd_id"] not in people:
            raise DataError(path, line, f"ocd_id: no legislator {row['ocd_id']!r} in legislators.csv")
        records.append(
            Record(
                str(path),
                line,
                {
                    "classification": _required(path, line, "classification", row["classification"]),
                    "name": row["office_name"],
                    "address": row["address"],
                    "phone": row["voice"],
                    "fax": row["fax"],
                },
                refs={"legislator": row["ocd_id"]},
            )
        )
    return records


def _load_json(path: Path) -> tuple[str, Any]:
    if not path.exists():
        raise DataError(path, 0, "file is missing")
    text = path.read_text(encoding="utf-8")
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, f"not valid JSON: {exc.msg}") from None


def _field(path: Path, line: int, item: dict[str, Any], name: str, kind: type | tuple[type, ...] = str) -> Any:
    if name not in item:
        raise DataError(path, line, f"missing field {name!r}")
    value = item[name]
    if not isinstance(value, kind):
        raise DataError(path, line, f"{name}: {value!r} has the wrong type")
    return value


_CHAMBERS = ("Assembly", "Senate", "Joint")


def _read_committees(path: Path, people: set[str]) -> tuple[list[Record], list[Record]]:
    text, items = _load_json(path)
    if not isinstance(items, list):
        raise DataError(path, 1, "expected a list of committees")
    committees, memberships = [], []
    for item in items:
        if not isinstance(item, dict):
            raise DataError(path, 1, "each committee must be an object")
        line = _line_of(text, f'"{item.get("id")}"')
        ocd_id = _field(path, line, item, "id")
        other_names = _field(path, line, item, "other_names", list)
        committees.append(
            Record(
                str(path),
                line,
                {
                    "ocd_id": ocd_id,
                    "name": _field(path, line, item, "name"),
                    "chamber": Chamber(_choice(path, line, "chamber", _field(path, line, item, "chamber"), _CHAMBERS)),
                    "classification": item.get("classification") or "committee",
                    "url": item.get("url") or "",
                    "other_names": "\n".join(str(n) for n in other_names),
                },
            )
        )
        seen: set[str] = set()
        for member in _field(path, line, item, "members", list):
            person = member.get("person_id") if isinstance(member, dict) else None
            offset = _line_of(text[text.find(f'"{ocd_id}"') :], f'"{person}"')
            member_line = line + offset - 1 if offset else line
            if person not in people:
                raise DataError(path, member_line, f"member {person!r} of {ocd_id} is not in legislators.csv")
            if person in seen:
                continue  # Open States files sometimes list a member twice
            seen.add(person)
            memberships.append(
                Record(
                    str(path),
                    member_line,
                    {"role": normalize_role(str(member.get("role", "")))},
                    refs={"committee": ocd_id, "legislator": person},
                )
            )
    _unique(path, committees, "ocd_id")
    return committees, memberships


def _read_bills(path: Path, people: set[str], committees: set[str]) -> tuple[list[Record], list[Record]]:
    text, document = _load_json(path)
    items = document.get("bills") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise DataError(path, 1, 'expected an object with a "bills" list')
    bills, actions = [], []
    for item in items:
        line = _line_of(text, f'"bill_id": "{item.get("bill_id")}"') if isinstance(item, dict) else 1
        if not isinstance(item, dict):
            raise DataError(path, line, "each bill must be an object")
        bill, bill_actions = _read_bill(path, line, item, people, committees)
        bills.append(bill)
        actions.extend(bill_actions)
    seen: set[tuple[str, int]] = set()
    for bill in bills:
        key = (bill.values["measure_type"], bill.values["number"])
        if key in seen:
            raise DataError(path, bill.line, f"bill {key[0]} {key[1]} appears twice")
        seen.add(key)
    return bills, actions


def _read_bill(
    path: Path, line: int, item: dict[str, Any], people: set[str], committees: set[str]
) -> tuple[Record, list[Record]]:
    label = _field(path, line, item, "bill_id")
    match = re.fullmatch(r"([A-Z]{2,3}) (\d{1,5})", label)
    if not match:
        raise DataError(path, line, f"bill_id: {label!r} is not like 'AB 123'")
    author = item.get("author_ocd_id")
    if author is not None and author not in people:
        raise DataError(path, line, f"author_ocd_id: no legislator {author!r} in legislators.csv")
    committee = item.get("pending_committee_id")
    if committee is not None and committee not in committees:
        raise DataError(path, line, f"pending_committee_id: no committee {committee!r} in committees.json")
    actions = []
    for position, action in enumerate(_field(path, line, item, "recent_actions", list)):
        if not isinstance(action, dict):
            raise DataError(path, line, f"{label}: each action must be an object")
        actions.append(
            Record(
                str(path),
                line,
                {
                    "position": position,
                    "date": _date(path, line, f"{label} action date", action.get("date"), optional=False),
                    "chamber": str(action.get("chamber") or ""),
                    "action": _field(path, line, action, "action"),
                },
                refs={"bill": (match.group(1), int(match.group(2)))},
            )
        )
    introduced = _date(path, line, "introduced_date", item.get("introduced_date"))
    amended = [a.values["date"] for a in actions if _is_amendment(a.values["action"])]
    bill = Record(
        str(path),
        line,
        {
            "session": BILL_SESSION,
            "measure_type": match.group(1),
            "number": int(match.group(2)),
            "origin_chamber": Chamber(
                _choice(
                    path, line, "origin_chamber", _field(path, line, item, "origin_chamber"), ("Assembly", "Senate")
                )
            ),
            "title": _field(path, line, item, "title"),
            "relating_clause": item.get("relating_clause") or "",
            "author_name": item.get("author") or "",
            "status": _field(path, line, item, "status"),
            "status_date": _date(path, line, "status_date", item.get("status_date")),
            "introduced_date": introduced,
            "version_date": max(amended) if amended else introduced,
            "last_action_date": _date(path, line, "last_action_date", item.get("last_action_date")),
            "last_action": item.get("last_action") or "",
            "pending_committee_name": item.get("pending_committee") or "",
            "topics": ",".join(_field(path, line, item, "topics", list)),
            "leginfo_url": item.get("leginfo_url") or "",
            "source_id": str(item.get("source_id") or ""),
        },
        refs={"author": author, "committee": committee},
    )
    return bill, actions


def _unique(path: Path, records: list[Record], key: str) -> None:
    seen: set[Any] = set()
    for record in records:
        if record.values[key] in seen:
            raise DataError(path, record.line, f"{key} {record.values[key]!r} appears twice")
        seen.add(record.values[key])


# ---------------------------------------------------------------------------------------------- writing rows


def check_lengths(model: type[SQLModel], record: Record) -> None:
    """Refuse a value longer than its column (PostgreSQL would fail half-way; SQLite would silently keep it)."""
    table = model.__table__  # type: ignore[attr-defined]
    for name, value in record.values.items():
        # sqlmodel's AutoString is a TypeDecorator, not a String: read the length it was declared with.
        limit = getattr(table.c[name].type, "length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            raise DataError(record.file, record.line, f"{name}: {len(value)} characters, at most {limit} fit")


def upsert(
    session: Session, model: type[M], existing: dict[Hashable, M], key: Hashable, record: Record, tally: Tally
) -> M:
    """Create the row for ``key`` or update the fields that differ; count which it was."""
    check_lengths(model, record)
    tally.rows += 1
    row = existing.get(key)
    if row is None:
        row = model(**record.values)
        session.add(row)
        existing[key] = row
        tally.created += 1
        return row
    changed = False
    for name, value in record.values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        tally.updated += 1
    else:
        tally.unchanged += 1
    return row


def replace_children(
    session: Session,
    current: list[M],
    wanted: list[Record],
    model: type[M],
    parent: dict[str, Any],
    compare: tuple[str, ...],
    tally: Tally,
) -> None:
    """Make one parent's list of child rows (offices, actions) equal ``wanted``, keeping rows that already match."""
    have = sorted(tuple(getattr(row, name) for name in compare) for row in current)
    want = sorted(tuple(record.values[name] for name in compare) for record in wanted)
    tally.rows += len(wanted)
    if have == want:
        tally.unchanged += len(wanted)
        return
    for row in current:
        session.delete(row)
    tally.deleted += len(current)
    for record in wanted:
        check_lengths(model, record)
        session.add(model(**record.values, **parent))
    tally.created += len(wanted)


def _group(rows: Iterable[M], attribute: str) -> dict[Any, list[M]]:
    groups: dict[Any, list[M]] = {}
    for row in rows:
        groups.setdefault(getattr(row, attribute), []).append(row)
    return groups


def _by(records: Iterable[Record], ref: str) -> dict[Any, list[Record]]:
    groups: dict[Any, list[Record]] = {}
    for record in records:
        groups.setdefault(record.refs[ref], []).append(record)
    return groups


class _Writer:
    """Writes parsed records table by table, in dependency order, reporting progress."""

    def __init__(self, session: Session, data: ShippedData, progress: Progress | None) -> None:
        self.session, self.data, self.progress = session, data, progress
        self.report = LoadReport()
        self.done = 0

    def _tick(self, table: str, rows: int) -> None:
        self.done += rows
        if self.progress is not None:
            self.progress(table, self.done, self.data.row_count)

    def _all(self, model: type[M], key: str) -> dict[Hashable, M]:
        return {getattr(row, key): row for row in self.session.exec(select(model)).all()}

    def run(self) -> LoadReport:
        divisions = self.write_divisions()
        cities = self.write_cities(divisions)
        self.write_city_districts(cities)
        refreshed = self.session.exec(select(DataImport).where(DataImport.source == "openstates")).first()
        if refreshed is None:
            legislators = self.write_legislators()
            committees = self.write_committees(legislators)
        else:
            # Open States data is newer than the snapshot: leave legislators and committees as refreshed.
            self.report.kept_refreshed = True
            legislators = self._all(Legislator, "ocd_id")
            committees = self._all(Committee, "ocd_id")
            skipped = (self.data.legislators, self.data.offices, self.data.committees, self.data.memberships)
            self._tick("legislators", sum(len(records) for records in skipped))
        self.write_bills(legislators, committees)
        return self.report

    def write_divisions(self) -> dict[Hashable, Division]:
        existing = self._all(Division, "name")
        for record in self.data.divisions:
            upsert(self.session, Division, existing, record.values["name"], record, self.report.tables["divisions"])
        self.session.flush()
        self._tick("divisions", len(self.data.divisions))
        return existing

    def write_cities(self, divisions: dict[Hashable, Division]) -> dict[Hashable, City]:
        existing = self._all(City, "geoid")
        for record in self.data.cities:
            name = record.refs["division"]
            record.values["division_id"] = divisions[name].id if name else None
            upsert(self.session, City, existing, record.values["geoid"], record, self.report.tables["cities"])
        self.session.flush()
        self._tick("cities", len(self.data.cities))
        return existing

    def write_city_districts(self, cities: dict[Hashable, City]) -> None:
        tally = self.report.tables["city_districts"]
        existing: dict[Hashable, CityDistrict] = {
            (row.city_id, row.chamber, row.district): row for row in self.session.exec(select(CityDistrict)).all()
        }
        wanted = set()
        for record in self.data.city_districts:
            city_id = cities[record.refs["city"]].id
            record.values["city_id"] = city_id
            key: Hashable = (city_id, record.values["chamber"], record.values["district"])
            wanted.add(key)
            upsert(self.session, CityDistrict, existing, key, record, tally)
        # Only cities in the file own their districts: a district the file no longer lists is gone.
        for key, row in existing.items():
            if key not in wanted:
                self.session.delete(row)
                tally.deleted += 1
        self.session.flush()
        self._tick("city_districts", len(self.data.city_districts))

    def write_legislators(self) -> dict[Hashable, Legislator]:
        existing = self._all(Legislator, "ocd_id")
        for record in self.data.legislators:
            upsert(
                self.session, Legislator, existing, record.values["ocd_id"], record, self.report.tables["legislators"]
            )
        self.session.flush()
        offices = _group(
            self.session.exec(select(LegislatorOffice).order_by(col(LegislatorOffice.id))).all(), "legislator_id"
        )
        wanted = _by(self.data.offices, "legislator")
        for ocd_id, records in wanted.items():
            legislator_id = existing[ocd_id].id
            replace_children(
                self.session,
                offices.get(legislator_id, []),
                records,
                LegislatorOffice,
                {"legislator_id": legislator_id},
                ("classification", "name", "address", "phone", "fax"),
                self.report.tables["legislator_offices"],
            )
        self.session.flush()
        self._tick("legislators", len(self.data.legislators) + len(self.data.offices))
        return existing

    def write_committees(self, legislators: dict[Hashable, Legislator]) -> dict[Hashable, Committee]:
        existing = self._all(Committee, "ocd_id")
        for record in self.data.committees:
            upsert(self.session, Committee, existing, record.values["ocd_id"], record, self.report.tables["committees"])
        self.session.flush()
        tally = self.report.tables["committee_memberships"]
        current: dict[Hashable, CommitteeMembership] = {
            (m.committee_id, m.legislator_id): m for m in self.session.exec(select(CommitteeMembership)).all()
        }
        wanted = set()
        for record in self.data.memberships:
            committee_id = existing[record.refs["committee"]].id
            legislator_id = legislators[record.refs["legislator"]].id
            record.values.update(committee_id=committee_id, legislator_id=legislator_id)
            key: Hashable = (committee_id, legislator_id)
            wanted.add(key)
            upsert(self.session, CommitteeMembership, current, key, record, tally)
        listed = {existing[r.values["ocd_id"]].id for r in self.data.committees}
        for membership in current.values():
            if membership.committee_id in listed and (membership.committee_id, membership.legislator_id) not in wanted:
                self.session.delete(membership)
                tally.deleted += 1
        self.session.flush()
        self._tick("committees", len(self.data.committees) + len(self.data.memberships))
        return existing

    def write_bills(self, legislators: dict[Hashable, Legislator], committees: dict[Hashable, Committee]) -> None:
        existing: dict[Hashable, Bill] = {
            (b.session, b.measure_type, b.number): b for b in self.session.exec(select(Bill)).all()
        }
        for record in self.data.bills:
            author, committee = legislators.get(record.refs["author"]), committees.get(record.refs["committee"])
            record.values["author_id"] = author.id if author else None
            record.values["committee_id"] = committee.id if committee else None
            key = (BILL_SESSION, record.values["measure_type"], record.values["number"])
            upsert(self.session, Bill, existing, key, record, self.report.tables["bills"])
        self.session.flush()
        actions = _group(self.session.exec(select(BillAction)).all(), "bill_id")
        for (measure_type, number), records in _by(self.data.actions, "bill").items():
            bill_id = existing[(BILL_SESSION, measure_type, number)].id
            replace_children(
                self.session,
                actions.get(bill_id, []),
                records,
                BillAction,
                {"bill_id": bill_id},
                ("position", "date", "chamber", "action"),
                self.report.tables["bill_actions"],
            )
        self.session.flush()
        self._tick("bills", len(self.data.bills) + len(self.data.actions))


def load_shipped(
    session: Session, data_dir: Path = DATA_DIR, progress: Progress | None = None, *, commit: bool = True
) -> LoadReport:
    """Read, check and upsert every shipped file in one transaction (rolled back on any error)."""
    try:
        data = read_shipped_data(Path(data_dir))
        report = _Writer(session, data, progress).run()
        changes = sum(t.created + t.updated + t.deleted for t in report.tables.values())
        if changes:
            session.add(DataImport(source="shipped", summary=json.dumps(report.as_dict(), sort_keys=True)))
        if commit:
            session.commit()
        else:
            session.flush()
        return report
    except BaseException:
        session.rollback()
        raise


def load_shipped_data(session: Session, data_dir: Path = DATA_DIR, progress: Progress | None = None) -> dict[str, int]:
    """Load advocacy/data/ and commit; returns rows per table and how many were created/updated/unchanged."""
    return load_shipped(session, data_dir, progress).as_dict()
