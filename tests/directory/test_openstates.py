"""Refreshing legislators and committees from Open States YAML: what changed is reported, nothing else moves.

Each test builds a folder shaped like github.com/openstates/people ``data/ca`` from the loaded database, changes a
few people in it, runs the refresh inside a transaction, checks, and rolls back (the loaded data stays as it was).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, col, select

from advocacy.directory.importer import DataError, load_shipped
from advocacy.directory.models import Chamber, Committee, CommitteeMembership, Legislator, LegislatorOffice
from advocacy.directory.openstates import refresh_from_openstates, resolve_folder
from advocacy.directory.service import committee_members, find_city

TODAY = date(2026, 11, 26)
NEW_PERSON = "ocd-person/00000000-0000-4000-8000-000000000001"  # a fictional newcomer


def _person(legislator: Legislator, offices: list[LegislatorOffice]) -> dict[str, Any]:
    return {
        "id": legislator.ocd_id,
        "name": legislator.name,
        "given_name": legislator.given_name,
        "family_name": legislator.family_name,
        "email": legislator.email,
        "image": legislator.image,
        "party": [{"name": legislator.party}],
        "roles": [
            {
                "start_date": legislator.start_date,
                "type": "lower" if legislator.chamber == Chamber.ASSEMBLY else "upper",
                "jurisdiction": "ocd-jurisdiction/country:us/state:ca/government",
                "district": str(legislator.district),
            }
        ],
        "offices": [
            {"classification": o.classification, "address": o.address, "voice": o.phone}
            | ({"fax": o.fax} if o.fax else {})
            | ({"name": o.name} if o.name else {})
            for o in offices
        ],
        "links": [{"url": legislator.website}] if legislator.website else [],
    }


def _committee(committee: Committee, members: list[tuple[Legislator, str]]) -> dict[str, Any]:
    chamber = {"Assembly": "lower", "Senate": "upper", "Joint": "legislature"}[committee.chamber.value]
    return {
        "id": committee.ocd_id,
        "jurisdiction": "ocd-jurisdiction/country:us/state:ca/government",
        "classification": "committee",
        "name": committee.name,
        "chamber": chamber,
        "links": [{"url": committee.url}] if committee.url else [],
        "members": [{"name": m.name, "role": role, "person_id": m.ocd_id} for m, role in members],
        "other_names": [{"name": n} for n in committee.other_names.splitlines()],
    }


def build_folder(session: Session, root: Path) -> dict[str, dict[str, Any]]:
    """Write every active legislator and every committee as Open States files; return them by id for editing."""
    people: dict[str, dict[str, Any]] = {}
    for legislator in session.exec(select(Legislator).where(col(Legislator.active).is_(True))).all():
        offices = list(
            session.exec(
                select(LegislatorOffice)
                .where(LegislatorOffice.legislator_id == legislator.id)
                .order_by(col(LegislatorOffice.id))
            )
        )
        people[legislator.ocd_id] = _person(legislator, offices)
    committees = {
        c.ocd_id: _committee(c, committee_members(session, c.id or 0)) for c in session.exec(select(Committee)).all()
    }
    return people | committees


def write_folder(root: Path, documents: dict[str, dict[str, Any]]) -> Path:
    for sub in ("legislature", "committees"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for key, document in documents.items():
        sub = "legislature" if key.startswith("ocd-person/") else "committees"
        name = f"{re.sub(r'[^A-Za-z0-9]+', '-', document['name'])}-{key.rsplit('/', 1)[1]}.yml"
        (root / sub / name).write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return root


def _legislator(session: Session, chamber: Chamber, district: int) -> Legislator:
    return session.exec(
        select(Legislator).where(
            Legislator.chamber == chamber, Legislator.district == district, col(Legislator.active).is_(True)
        )
    ).one()


def test_unchanged_files_report_no_changes(db: Session, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "ca", build_folder(db, tmp_path))
    try:
        report = refresh_from_openstates(db, folder, today=TODAY, commit=False)
        assert not report.changed, report.lines()
        assert report.legislators_in_files == 120 and report.committees_in_files == 116
        assert report.lines()[-1] == "No changes."
    finally:
        db.rollback()


def test_refresh_reports_and_applies_changes(db: Session, tmp_path: Path) -> None:
    documents = build_folder(db, tmp_path)
    moved = _legislator(db, Chamber.ASSEMBLY, 6)  # represents most of Sacramento
    new_mail = _legislator(db, Chamber.SENATE, 8)
    old_mail = new_mail.email
    leaving = _legislator(db, Chamber.ASSEMBLY, 10)
    committee = db.exec(
        select(Committee).where(Committee.name == "Local Government", Committee.chamber == Chamber.ASSEMBLY)
    ).one()
    members = committee_members(db, committee.id or 0)
    demoted = next(m for m, role in members if role == "vice chair")
    dropped = next(m for m, role in members if role == "member" and m.id not in (moved.id, leaving.id))

    documents[moved.ocd_id]["roles"][0]["district"] = "7"  # a redistricting-style move, on paper
    documents[new_mail.ocd_id]["email"] = "senator.renamed@senate.ca.gov"
    del documents[leaving.ocd_id]
    documents[NEW_PERSON] = {
        "id": NEW_PERSON,
        "name": "Robin Example",
        "given_name": "Robin",
        "family_name": "Example",
        "party": [{"name": "Independent"}],
        "email": "assemblymember.example@assembly.ca.gov",
        "roles": [{"start_date": "2026-11-01", "type": "lower", "district": "10"}],
        "offices": [
            {"classification": "capitol", "address": "1021 O St., Sacramento, CA 95814", "voice": "916-319-2010"}
        ],
    }
    listed = documents[committee.ocd_id]["members"]
    listed[:] = [m for m in listed if m["person_id"] != dropped.ocd_id]
    for m in listed:
        if m["person_id"] == demoted.ocd_id:
            m["role"] = "member"
    listed.append({"name": "Robin Example", "role": "member", "person_id": NEW_PERSON})
    listed.append({"name": "Nobody We Know", "role": "member"})  # no person_id and no such legislator
    folder = write_folder(tmp_path / "people" / "data" / "ca", documents)

    try:
        report = refresh_from_openstates(db, tmp_path / "people", today=TODAY, commit=False)
        text = "\n".join(report.lines())
        assert report.new_legislators == ["Robin Example (Assembly 10)"]
        assert report.retired == [f"{leaving.name} (Assembly 10)"]
        assert report.district_changes == [f"{moved.name}: Assembly 6 -> Assembly 7"]
        assert report.email_changes == [f"{new_mail.name}: {old_mail} -> senator.renamed@senate.ca.gov"]
        full = committee.full_name
        assert f"{full}: removed {dropped.name}" in report.membership_changes
        assert f"{full}: {demoted.name} vice chair -> member" in report.membership_changes
        assert f"{full}: added Robin Example (member)" in report.membership_changes
        assert len(report.unmatched_members) == 1 and "Nobody We Know" in report.unmatched_members[0]
        path, line = report.unmatched_members[0].rsplit("(", 1)[1].rstrip(")").rsplit(":", 1)
        assert "Nobody We Know" in Path(path).read_text().splitlines()[int(line) - 1]
        assert "Retired (1):" in text and "Changed e-mail (1):" in text

        db.expire_all()
        gone = db.get(Legislator, leaving.id)
        assert gone is not None and not gone.active
        assert not db.exec(select(CommitteeMembership).where(CommitteeMembership.legislator_id == leaving.id)).all()
        sacramento = find_city(db, "0664000")
        assert sacramento is not None
        from advocacy.directory.service import city_delegation

        assembly = [m.legislator.name for m in city_delegation(db, sacramento.id or 0) if m.chamber == "Assembly"]
        assert assembly == ["Robin Example"]  # AD 6 moved away on paper, AD 10 has a new member

        # The shipped snapshot loaded afterwards leaves the refreshed legislators alone.
        shipped = load_shipped(db, commit=False)
        assert shipped.kept_refreshed
        assert not db.get(Legislator, leaving.id).active  # type: ignore[union-attr]
    finally:
        db.rollback()
    db.expire_all()
    assert db.get(Legislator, leaving.id).active  # type: ignore[union-attr]
    assert folder.is_dir()


def test_folder_layouts(tmp_path: Path) -> None:
    (tmp_path / "ca" / "legislature").mkdir(parents=True)
    (tmp_path / "ca" / "committees").mkdir()
    assert resolve_folder(tmp_path / "ca") == (tmp_path / "ca" / "legislature", tmp_path / "ca" / "committees")
    assert resolve_folder(tmp_path)[0] == tmp_path / "ca" / "legislature"
    with pytest.raises(DataError, match="no legislature/ folder"):
        resolve_folder(tmp_path / "ca" / "committees")


def test_bad_yaml_and_empty_folders_change_nothing(db: Session, tmp_path: Path) -> None:
    folder = tmp_path / "ca"
    (folder / "legislature").mkdir(parents=True)
    with pytest.raises(DataError, match="no current legislators"):
        refresh_from_openstates(db, folder, today=TODAY)
    (folder / "legislature" / "Broken.yml").write_text("id: ocd-person/x\nname: [unclosed\n")
    with pytest.raises(DataError) as raised:
        refresh_from_openstates(db, folder, today=TODAY)
    assert raised.value.file.endswith("Broken.yml") and raised.value.line >= 2
    (folder / "legislature" / "Broken.yml").write_text(
        "id: ocd-person/00000000-0000-4000-8000-000000000002\nname: Sam Example\n"
        "roles:\n- type: lower\n  district: '99'\n  start_date: 2026-01-01\n"
    )
    with pytest.raises(DataError) as raised:
        refresh_from_openstates(db, folder, today=TODAY)
    assert raised.value.line == 5 and "does not exist" in raised.value.reason
    db.expire_all()
    assert db.exec(select(Legislator).where(col(Legislator.active).is_(True))).all().__len__() == 120
