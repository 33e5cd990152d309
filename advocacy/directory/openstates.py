"""Refresh legislators and committees from Open States ``people`` YAML files (github.com/openstates/people).

Layout of that repository, for California: ``data/ca/legislature/*.yml`` (one person each: ``id``, ``name``,
``given_name``, ``family_name``, ``email``, ``image``, ``party: [{name}]``, ``roles: [{type: lower|upper,
district, start_date, end_date?}]``, ``offices: [{classification, address, voice, fax}]``, ``links: [{url}]``)
and ``data/ca/committees/*.yml`` (``id``, ``name``, ``chamber: lower|upper|legislature``, ``links``,
``other_names: [{name}]``, ``members: [{name, role, person_id?}]``).

Legislators missing from the files (or whose roles have all ended) are retired: ``active=False`` and removed from
their committees. Committees missing from the files are kept as they are (bills and letters point at them).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from advocacy.directory.importer import DataError, Record, Tally, normalize_role, replace_children, upsert
from advocacy.directory.models import (
    Chamber,
    Committee,
    CommitteeMembership,
    DataImport,
    Legislator,
    LegislatorOffice,
)

_PERSON_CHAMBER = {"lower": Chamber.ASSEMBLY, "upper": Chamber.SENATE}
_COMMITTEE_CHAMBER = {"lower": Chamber.ASSEMBLY, "upper": Chamber.SENATE, "legislature": Chamber.JOINT}


@dataclass
class RefreshReport:
    """What an Open States refresh changed, as lines a person can read."""

    legislators_in_files: int = 0
    committees_in_files: int = 0
    new_legislators: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    district_changes: list[str] = field(default_factory=list)
    email_changes: list[str] = field(default_factory=list)
    other_updates: int = 0  # legislators whose other fields (offices, phone, party, …) changed
    new_committees: list[str] = field(default_factory=list)
    membership_changes: list[str] = field(default_factory=list)
    unmatched_members: list[str] = field(default_factory=list)
    committees_not_in_files: int = 0

    @property
    def changed(self) -> bool:
        return bool(
            self.new_legislators
            or self.retired
            or self.district_changes
            or self.email_changes
            or self.other_updates
            or self.new_committees
            or self.membership_changes
        )

    def lines(self) -> list[str]:
        out = [
            f"Open States: {self.legislators_in_files} current legislators, "
            f"{self.committees_in_files} committees in the files"
        ]
        sections = (
            ("New legislators", self.new_legislators),
            ("Retired", self.retired),
            ("Changed district", self.district_changes),
            ("Changed e-mail", self.email_changes),
            ("New committees", self.new_committees),
            ("Committee membership changes", self.membership_changes),
            ("Committee members not matched to a current legislator (skipped)", self.unmatched_members),
        )
        for title, items in sections:
            if items:
                out.append(f"{title} ({len(items)}):")
                out.extend(f"  {item}" for item in items)
        if self.other_updates:
            out.append(f"Other contact details updated for {self.other_updates} legislator(s)")
        if self.committees_not_in_files:
            out.append(f"{self.committees_not_in_files} committee(s) not in the files were kept as they are")
        if not self.changed:
            out.append("No changes.")
        return out


# ---------------------------------------------------------------------------------------------- reading


def resolve_folder(folder: Path) -> tuple[Path, Path | None]:
    """The ``legislature`` and ``committees`` folders: DIR may be the ``ca`` folder or the repository root."""
    for base in (folder, folder / "ca", folder / "data" / "ca"):
        if (base / "legislature").is_dir():
            committees = base / "committees"
            return base / "legislature", committees if committees.is_dir() else None
    raise DataError(folder, 0, "no legislature/ folder here (give the Open States data/ca folder)")


def _load_yaml(path: Path) -> tuple[str, dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(path, mark.line + 1 if mark else 0, f"not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise DataError(path, 1, "expected a mapping")
    return text, document


def _line(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip(" -").startswith(f"{key}:"):
            return number
    return 1


def _current_role(path: Path, text: str, person: dict[str, Any], today: date) -> dict[str, Any] | None:
    """The person's legislative role today, if any (a role with no end date, or one ending in the future)."""
    current = []
    for role in person.get("roles") or []:
        if not isinstance(role, dict) or role.get("type") not in _PERSON_CHAMBER:
            continue
        end = role.get("end_date")
        if end is not None and _as_date(path, text, "end_date", end) < today:
            continue
        current.append(role)
    return max(current, key=lambda r: str(r.get("start_date") or "")) if current else None


def _as_date(path: Path, text: str, key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DataError(path, _line(text, key), f"{key}: {value!r} is not a date") from None


def _person_record(path: Path, today: date) -> tuple[Record, list[Record]] | None:
    """The legislator row and office rows a person file describes; None if the person holds no seat today."""
    text, person = _load_yaml(path)
    ocd_id, name = person.get("id"), person.get("name")
    if not isinstance(ocd_id, str) or not ocd_id.startswith("ocd-person/"):
        raise DataError(path, _line(text, "id"), "id: missing or not an Open States person id")
    if not isinstance(name, str) or not name.strip():
        raise DataError(path, _line(text, "name"), "name: missing")
    role = _current_role(path, text, person, today)
    if role is None:
        return None
    chamber = _PERSON_CHAMBER[role["type"]]
    try:
        district = int(str(role.get("district")))
    except ValueError:
        raise DataError(path, _line(text, "district"), f"district: {role.get('district')!r} is not a number") from None
    if not 1 <= district <= (80 if chamber == Chamber.ASSEMBLY else 40):
        raise DataError(path, _line(text, "district"), f"district: {district} does not exist in the {chamber}")
    offices = [o for o in person.get("offices") or [] if isinstance(o, dict)]
    capitol = next((o for o in offices if o.get("classification") == "capitol"), {})
    parties = [p.get("name", "") for p in person.get("party") or [] if isinstance(p, dict) and not p.get("end_date")]
    links = [link.get("url", "") for link in person.get("links") or [] if isinstance(link, dict)]
    start = role.get("start_date")
    values = {
        "ocd_id": ocd_id,
        "name": name.strip(),
        "given_name": person.get("given_name") or "",
        "family_name": person.get("family_name") or "",
        "chamber": chamber,
        "district": district,
        "party": parties[-1] if parties else "",
        "start_date": _as_date(path, text, "start_date", start) if start else None,
        "email": str(person.get("email") or "").strip(),
        "capitol_address": capitol.get("address") or "",
        "capitol_phone": capitol.get("voice") or "",
        "capitol_fax": capitol.get("fax") or "",
        "website": links[0] if links else "",
        "image": person.get("image") or "",
        "active": True,
    }
    office_records = [
        Record(
            str(path),
            _line(text, "offices"),
            {
                "classification": str(o.get("classification") or ""),
                "name": str(o.get("name") or ""),
                "address": str(o.get("address") or ""),
                "phone": str(o.get("voice") or ""),
                "fax": str(o.get("fax") or ""),
            },
        )
        for o in offices
    ]
    return Record(str(path), 1, values), office_records


@dataclass
class CommitteeFile:
    record: Record
    members: list[tuple[str | None, str, str, int]]  # (person id, name, role, line)


def _committee_file(path: Path) -> CommitteeFile:
    text, document = _load_yaml(path)
    ocd_id, name, chamber = document.get("id"), document.get("name"), document.get("chamber")
    if not isinstance(ocd_id, str) or not ocd_id.startswith("ocd-organization/"):
        raise DataError(path, _line(text, "id"), "id: missing or not an Open States organization id")
    if not isinstance(name, str) or not name.strip():
        raise DataError(path, _line(text, "name"), "name: missing")
    if chamber not in _COMMITTEE_CHAMBER:
        raise DataError(path, _line(text, "chamber"), f"chamber: {chamber!r} is not lower, upper or legislature")
    links = [link.get("url", "") for link in document.get("links") or [] if isinstance(link, dict)]
    others = [o.get("name", "") for o in document.get("other_names") or [] if isinstance(o, dict)]
    record = Record(
        str(path),
        1,
        {
            "ocd_id": ocd_id,
            "name": name.strip(),
            "chamber": _COMMITTEE_CHAMBER[chamber],
            "classification": document.get("classification") or "committee",
            "url": links[0] if links else "",
            "other_names": "\n".join(others),
        },
    )
    members = []
    for member in document.get("members") or []:
        if not isinstance(member, dict) or not member.get("name"):
            raise DataError(path, _line(text, "members"), "each member needs a name")
        person = member.get("person_id")
        needle = str(person) if person else f"name: {member['name']}"
        line = text[: max(text.find(needle), 0)].count("\n") + 1
        members.append((person, str(member["name"]).strip(), normalize_role(str(member.get("role") or "")), line))
    return CommitteeFile(record, members)


# ---------------------------------------------------------------------------------------------- writing


def _label(legislator: Legislator | Record) -> str:
    values = legislator.values if isinstance(legislator, Record) else legislator.model_dump()
    return f"{values['name']} ({values['chamber']} {values['district']})"


def _refresh_legislators(session: Session, folder: Path, report: RefreshReport, today: date) -> dict[str, Legislator]:
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))
    parsed = [found for path in files if (found := _person_record(path, today)) is not None]
    if not parsed:
        # Retiring every legislator because of a wrong folder would be a disaster: refuse instead.
        raise DataError(folder, 0, "no current legislators in these files; nothing was changed")
    report.legislators_in_files = len(parsed)
    existing: dict[Hashable, Legislator] = {row.ocd_id: row for row in session.exec(select(Legislator)).all()}
    before = {key: (row.active, row.chamber, row.district, row.email) for key, row in existing.items()}
    other: set[str] = set()
    for record, offices in parsed:
        key = record.values["ocd_id"]
        tally = Tally()
        legislator = upsert(session, Legislator, existing, key, record, tally)
        session.flush()
        current = list(session.exec(select(LegislatorOffice).where(LegislatorOffice.legislator_id == legislator.id)))
        replace_children(
            session,
            current,
            offices,
            LegislatorOffice,
            {"legislator_id": legislator.id},
            ("classification", "name", "address", "phone", "fax"),
            tally,
        )
        was = before.get(key)
        if was is None or not was[0]:
            report.new_legislators.append(_label(record))
            continue
        known = False
        if (was[1], was[2]) != (record.values["chamber"], record.values["district"]):
            report.district_changes.append(
                f"{record.values['name']}: {was[1]} {was[2]} -> {record.values['chamber']} {record.values['district']}"
            )
            known = True
        if was[3] != record.values["email"]:
            report.email_changes.append(
                f"{record.values['name']}: {was[3] or '(none)'} -> {record.values['email'] or '(none)'}"
            )
            known = True
        if (tally.updated or tally.deleted) and not known:
            other.add(key)
    report.other_updates = len(other)
    current_ids = {record.values["ocd_id"] for record, _ in parsed}
    for key, legislator in existing.items():
        if legislator.active and key not in current_ids:
            legislator.active = False
            report.retired.append(_label(legislator))
            for membership in session.exec(
                select(CommitteeMembership).where(CommitteeMembership.legislator_id == legislator.id)
            ):
                session.delete(membership)
    session.flush()
    return {str(key): row for key, row in existing.items()}


def _refresh_committees(
    session: Session, folder: Path, legislators: dict[str, Legislator], report: RefreshReport
) -> None:
    files = [_committee_file(path) for path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))]
    report.committees_in_files = len(files)
    existing: dict[Hashable, Committee] = {row.ocd_id: row for row in session.exec(select(Committee)).all()}
    by_name = {row.name: row for row in legislators.values() if row.active}
    listed = set()
    for committee_file in files:
        record = committee_file.record
        is_new = record.values["ocd_id"] not in existing
        committee = upsert(session, Committee, existing, record.values["ocd_id"], record, Tally())
        session.flush()
        listed.add(committee.ocd_id)
        if is_new:
            report.new_committees.append(committee.full_name)
        _sync_members(session, committee, committee_file, legislators, by_name, report)
    report.committees_not_in_files = len(set(existing) - listed)


def _sync_members(
    session: Session,
    committee: Committee,
    committee_file: CommitteeFile,
    legislators: dict[str, Legislator],
    by_name: dict[str, Legislator],
    report: RefreshReport,
) -> None:
    wanted: dict[int, tuple[Legislator, str]] = {}
    for person_id, name, role, line in committee_file.members:
        found = legislators.get(person_id) if person_id else by_name.get(name)
        if found is not None and not found.active:
            continue  # a retired member still listed: the retirement is reported once, not per committee
        if found is None or found.id is None:
            report.unmatched_members.append(f"{committee.full_name}: {name} ({committee_file.record.file}:{line})")
            continue
        wanted.setdefault(found.id, (found, role))  # Open States files sometimes list a member twice
    current = {
        m.legislator_id: m
        for m in session.exec(select(CommitteeMembership).where(CommitteeMembership.committee_id == committee.id))
    }
    names = {row.id: row.name for row in legislators.values()}
    for legislator_id, gone in current.items():
        if legislator_id not in wanted:
            session.delete(gone)
            report.membership_changes.append(f"{committee.full_name}: removed {names.get(legislator_id)}")
    for legislator_id, (legislator, role) in wanted.items():
        seat = current.get(legislator_id)
        if seat is None:
            session.add(CommitteeMembership(committee_id=committee.id or 0, legislator_id=legislator_id, role=role))
            report.membership_changes.append(f"{committee.full_name}: added {legislator.name} ({role})")
        elif seat.role != role:
            report.membership_changes.append(f"{committee.full_name}: {legislator.name} {seat.role} -> {role}")
            seat.role = role
    session.flush()


def refresh_from_openstates(
    session: Session, folder: Path, *, today: date | None = None, commit: bool = True
) -> RefreshReport:
    """Bring legislators and committees up to date with an Open States folder, in one transaction."""
    report = RefreshReport()
    try:
        legislature, committees = resolve_folder(Path(folder))
        legislators = _refresh_legislators(session, legislature, report, today or date.today())
        if committees is not None:
            _refresh_committees(session, committees, legislators, report)
        # Recorded even when nothing changed: from now on the shipped snapshot no longer overrides these tables.
        session.add(DataImport(source="openstates", summary="\n".join(report.lines())))
        if commit:
            session.commit()
        else:
            session.flush()
        return report
    except BaseException:
        session.rollback()
        raise
