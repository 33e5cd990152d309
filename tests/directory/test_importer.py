"""Loading the shipped data: counts, idempotence, and bad files rejected with file:line and nothing changed."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from advocacy import DATA_DIR
from advocacy.directory.importer import DataError, is_member, load_shipped_data, normalize_role, slugify
from advocacy.directory.models import (
    Bill,
    City,
    CityDistrict,
    Committee,
    CommitteeMembership,
    Division,
    Legislator,
)
from advocacy.directory.service import find_bill, find_city

EXPECTED = {
    "divisions": 16,
    "cities": 482,
    "city_districts": 1090,
    "legislators": 120,
    "committees": 116,
    "committee_memberships": 1213,
    "bills": 73,
}


def _count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_counts_match_the_files(loaded_data: dict[str, int], db: Session) -> None:
    for table, count in EXPECTED.items():
        assert loaded_data[table] == count, table
    for model, table in (
        (Division, "divisions"),
        (City, "cities"),
        (CityDistrict, "city_districts"),
        (Legislator, "legislators"),
        (Committee, "committees"),
        (CommitteeMembership, "committee_memberships"),
    ):
        assert _count(db, model) == EXPECTED[table], table
    # Other tests add bills of their own (the Action Agenda import); the shipped ones carry their LegiScan id.
    shipped_bills = db.exec(select(func.count()).select_from(Bill).where(Bill.source_id != "")).one()
    assert shipped_bills == EXPECTED["bills"]


def test_second_load_changes_nothing(loaded_data: dict[str, int], db: Session) -> None:
    again = load_shipped_data(db)
    assert again["created"] == again["updated"] == again["deleted"] == 0
    assert again["unchanged"] == sum(
        again[table]
        for table in (
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
    )
    assert {table: again[table] for table in EXPECTED} == EXPECTED


def test_rows_are_read_with_judgement(db: Session) -> None:
    la = find_city(db, "0644000")
    assert la is not None and la.name == "Los Angeles" and la.is_member
    division = db.get(Division, la.division_id)
    assert division is not None and division.slug == "los-angeles-county"
    nonmembers = {c.name for c in db.exec(select(City).where(City.is_member == False)).all()}  # noqa: E712
    assert {"Huntington Beach", "Newport Beach", "Orange", "Santa Clarita", "Laguna Woods"} <= nonmembers
    assert "Sacramento" not in nonmembers
    live_oak = db.exec(select(City).where(City.name == "Live Oak")).one()
    assert live_oak.latitude is None and live_oak.county == "Sutter"


def test_bill_fields(db: Session) -> None:
    bill = find_bill(db, "AB 1567")
    assert bill is not None and bill.session == "20252026"
    # Last amendment (March 16) rather than the introduction (January 12) or a later non-amending action.
    assert bill.introduced_date == date(2026, 1, 12) and bill.version_date == date(2026, 3, 16)
    assert bill.author_id is not None and db.get(Legislator, bill.author_id).name == "Tri Ta"  # type: ignore[union-attr]
    committee = db.get(Committee, bill.committee_id)
    assert committee is not None and committee.full_name == "Senate Committee on Rules"
    by_committee = db.exec(select(Bill).where(Bill.author_id == None)).all()  # noqa: E711
    assert {b.label for b in by_committee} >= {"SB 1072", "SB 1426"}  # authored by a committee: no legislator


def test_helpers() -> None:
    assert slugify("South San Joaquin Valley") == "south-san-joaquin-valley"
    assert normalize_role("vice-chair") == "vice chair" and normalize_role("Chair") == "chair"
    assert not is_member("voted in 2024 to withdraw from Cal Cities")
    assert not is_member("marked nonmember on the division page")
    assert is_member("")


# ---------------------------------------------------------------------------------------------- bad files


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def _rewrite_csv(path: Path, change) -> int:  # type: ignore[no-untyped-def]
    """Apply ``change(row) -> bool`` to rows until it returns True; returns that row's line number."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), list(reader)
    changed_at = 0
    for index, row in enumerate(rows):
        if not changed_at and change(row):
            changed_at = index + 2  # header is line 1; these files have no multi-line fields
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    assert changed_at
    return changed_at


def _state(session: Session) -> tuple[str, str, int]:
    sacramento = find_city(session, "0664000")
    assert sacramento is not None
    hadwick = session.exec(select(Legislator).where(Legislator.ocd_id.startswith("ocd-person/3b125433"))).one()  # type: ignore[attr-defined]
    return sacramento.name, hadwick.email, _count(session, CityDistrict)


def test_a_bad_value_late_in_the_load_changes_nothing(data_copy: Path, db: Session) -> None:
    before = _state(db)
    # Valid changes to earlier files, then a value that only fails while writing legislators (too long a party).
    _rewrite_csv(data_copy / "cities.csv", lambda r: r["place_geoid"] == "0664000" and r.update(name="Renamed") is None)
    line = _rewrite_csv(
        data_copy / "legislators.csv", lambda r: r["district"] == "3" and r.update(party="P" * 300) is None
    )
    with pytest.raises(DataError) as raised:
        load_shipped_data(db, data_copy)
    assert raised.value.file.endswith("legislators.csv") and raised.value.line == line
    assert "party" in raised.value.reason
    db.expire_all()
    assert _state(db) == before


@pytest.mark.parametrize(
    ("file", "column", "bad", "reason"),
    [
        ("city_districts.csv", "share", "lots", "not a number"),
        ("city_districts.csv", "district", "81", "outside"),
        ("cities.csv", "division", "Atlantis", "unknown division"),
        ("legislators.csv", "start_date", "2024-13-45", "not a date"),
        ("legislator_offices.csv", "ocd_id", "ocd-person/nobody", "no legislator"),
    ],
)
def test_bad_rows_are_rejected_with_file_and_line(
    data_copy: Path, db: Session, file: str, column: str, bad: str, reason: str
) -> None:
    before = _state(db)
    line = _rewrite_csv(data_copy / file, lambda r: r.update({column: bad}) is None)
    with pytest.raises(DataError) as raised:
        load_shipped_data(db, data_copy)
    assert raised.value.file.endswith(file) and raised.value.line == line, str(raised.value)
    assert reason in raised.value.reason
    assert str(raised.value).startswith(f"{raised.value.file}:{line}: ")
    assert _state(db) == before


def test_missing_column_is_reported(data_copy: Path, db: Session) -> None:
    path = data_copy / "divisions.csv"
    path.write_text(path.read_text().replace("composition_confidence", "confidence", 1))
    with pytest.raises(DataError, match=r"divisions\.csv:1: missing column\(s\): composition_confidence"):
        load_shipped_data(db, data_copy)


def test_dangling_json_reference_is_reported(data_copy: Path, db: Session) -> None:
    path = data_copy / "bills.json"
    document = json.loads(path.read_text())
    document["bills"][3]["pending_committee_id"] = "ocd-organization/does-not-exist"
    path.write_text(json.dumps(document, indent=1))
    label = document["bills"][3]["bill_id"]
    with pytest.raises(DataError) as raised:
        load_shipped_data(db, data_copy)
    assert "no committee" in raised.value.reason
    assert f'"bill_id": "{label}"' in path.read_text().splitlines()[raised.value.line - 1]


def test_broken_json_is_reported(data_copy: Path, db: Session) -> None:
    path = data_copy / "committees.json"
    path.write_text(path.read_text().replace('"members"', '"members" ', 1).replace("[", "[,", 1))
    with pytest.raises(DataError, match=r"committees\.json:1: not valid JSON"):
        load_shipped_data(db, data_copy)
