"""The letter document of one city for one campaign: letterhead, addressee, RE line, signer and cc list.

The action page previews exactly what ``render_letter`` later turns into the PDF: both build the document here.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import letter_hooks
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import Stage, committee_short_name
from advocacy.db import utcnow
from advocacy.directory.models import Bill, City, Committee, Legislator
from advocacy.letters.document import Addressee, BillRef, LetterDocument, Letterhead, Signer
from advocacy.letters.recipients import GOVERNOR_ADDRESS_LINES, address_lines, chair_of, honorific
from advocacy.settings import get_settings

CALIFORNIA = ZoneInfo("America/Los_Angeles")
UNSIGNED_NAME = "(the official who signs for the city)"


def california_date(at_utc: datetime | None = None) -> date:
    """The letter's date as the city sees it (a letter sent at 6 p.m. in Sacramento is not dated tomorrow)."""
    return (at_utc or utcnow()).replace(tzinfo=UTC).astimezone(CALIFORNIA).date()


def official_name(city: City) -> str:
    return f"{'Town' if city.lsad == 'town' else 'City'} of {city.name}"


@dataclass(frozen=True)
class CopyLine:
    """A recipient as the letter's cc block sees it."""

    key: str  # legislator:<id>, committee:<id>, governor
    name: str
    reason: str
    cc_note: str  # "author of AB 1567", "Assembly District 7"; empty: covered by the committee line


def subject_line(campaign: Campaign, bill: Bill, city: City) -> str:
    """ "AB 1567 (Ta) — Support — City of Sacramento": e-mail subject and the portal's Subject field."""
    author = f" ({bill.author_name.split()[-1]})" if bill.author_name else ""
    return f"{bill.label}{author} — {campaign.position.value} — {official_name(city)}"


def letterhead(city: City) -> Letterhead:
    seal: bytes | None = None
    mimetype = "image/png"
    if city.seal_path:
        path = get_settings().storage_dir / city.seal_path
        if path.is_file():
            seal = path.read_bytes()
            mimetype = mimetypes.guess_type(path.name)[0] or mimetype
    lines = [line.strip() for line in city.address.split(";") if line.strip()] if city.address else []
    return Letterhead(
        city_name=city.name, official_name=official_name(city), address_lines=lines, seal=seal, seal_mimetype=mimetype
    )


def addressee(session: Session, campaign: Campaign, bill: Bill, stage: Stage) -> Addressee:
    """The chair of the committee now hearing the bill; the Governor for requests; else the author."""
    settings = get_settings()
    if campaign.position.to_governor:
        surname = settings.governor_name.split()[-1]
        return Addressee(
            name=f"The Honorable {settings.governor_name}",
            role_line="Governor, State of California",
            address_lines=GOVERNOR_ADDRESS_LINES,
            salutation=f"Dear Governor {surname}:",
        )
    if stage.committee is not None:
        chair = chair_of(session, stage.committee)
        if chair is not None:
            return Addressee(
                name=honorific(chair),
                role_line=f"Chair, {stage.committee.full_name}",
                address_lines=address_lines(chair.capitol_address),
                salutation=f"Dear Chair {chair.family_name or chair.name.split()[-1]}:",
            )
        return _committee_addressee(stage.committee)
    author = session.get(Legislator, bill.author_id) if bill.author_id else None
    if author is not None:
        member = "Member of the Assembly" if str(author.chamber) == "Assembly" else "Member of the Senate"
        title = "Assembly Member" if str(author.chamber) == "Assembly" else "Senator"
        return Addressee(
            name=honorific(author),
            role_line=member,
            address_lines=address_lines(author.capitol_address),
            salutation=f"Dear {title} {author.family_name or author.name.split()[-1]}:",
        )
    return Addressee(
        name=f"Members of the {bill.origin_chamber}",
        role_line="California State Legislature",
        address_lines=["1021 O Street", "Sacramento, CA 95814"],
        salutation="Dear Members:",
    )


def _committee_addressee(committee: Committee) -> Addressee:
    return Addressee(
        name=committee.full_name,
        role_line="California State Legislature",
        address_lines=["1021 O Street", "Sacramento, CA 95814"],
        salutation="Dear Committee Members:",
    )


def bill_ref(bill: Bill) -> BillRef:
    amended = bill.version_date is not None and bill.version_date != bill.introduced_date
    return BillRef(
        label=bill.label,
        title=bill.title.rstrip(". "),  # the RE: line goes on " — SUPPORT" after it
        author=bill.author_name,
        version_date=bill.version_date or bill.introduced_date,
        version_label="as amended" if amended else "as introduced" if bill.introduced_date else "",
    )


def signer_of(user: User | None, city: City) -> Signer:
    if user is None:
        return Signer(name=UNSIGNED_NAME, title="", city_name=city.name)
    return Signer(name=user.name, title=user.title, city_name=city.name, email=user.email)


def regional_managers(session: Session, city: City) -> list[User]:
    if city.division_id is None:
        return []
    query = select(User).where(
        User.role == Role.REGIONAL_MANAGER, User.division_id == city.division_id, col(User.active).is_(True)
    )
    return list(session.exec(query.order_by(col(User.id))).all())


def cc_list(
    session: Session,
    city: City,
    copies: list[CopyLine],
    stage: Stage,
    addressee_name: str,
    managers: list[User] | None = None,
) -> list[str]:
    """The cc block: the committee's members as one line, every other legislator by name, the league, the RPAM
    (``managers``: the division's regional managers when the caller has them already)."""
    settings = get_settings()
    lines: list[str] = []
    committee = stage.committee
    if committee is not None and any(
        c.key.startswith("legislator:") and c.name != addressee_name and committee_short_name(committee) in c.reason
        for c in copies
    ):
        lines.append(f"Members, {committee.full_name}")
    for copy in copies:
        if copy.cc_note and copy.name != addressee_name:
            lines.append(f"{copy.name}, {copy.cc_note}")
    lines.append(f"{settings.mail_from_name} ({settings.league_copy_address})")
    for manager in managers if managers is not None else regional_managers(session, city):
        lines.append(f"{manager.name}, Regional Public Affairs Manager")
    return lines


def build_document(
    session: Session,
    *,
    campaign: Campaign,
    bill: Bill,
    city: City,
    stage: Stage,
    signer: User | None,
    local_note: str,
    copies: list[CopyLine],
    letter_date: date,
    managers: list[User] | None = None,
) -> LetterDocument:
    """The letter as it will be sent (the signer may still be unknown on a preview)."""
    to = addressee(session, campaign, bill, stage)
    return LetterDocument(
        kind=campaign.letter_kind,
        letterhead=letterhead(city),
        letter_date=letter_date,
        addressee=to,
        bill=bill_ref(bill),
        position_label=campaign.position.value,
        talking_points=campaign.talking_point_list,
        signer=signer_of(signer, city),
        cc=cc_list(session, city, copies, stage, to.name, managers),
        local_note=local_note,
        committee_name=stage.committee.full_name if stage.committee is not None else "",
        league_name=get_settings().mail_from_name,
        # Campaign console hook: the city's message variant (staff template) and the hearing date, if any.
        **letter_hooks.document_fields(session, campaign, city.id or 0, stage),
    )


def pdf_filename(bill: Bill, city: City, campaign: Campaign) -> str:
    """ "AB-1567_Sacramento_Support.pdf": readable in a legislator's inbox, safe on any file system."""
    raw = f"{bill.measure_type}-{bill.number}_{city.name}_{campaign.position.value}"
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in raw).strip("-") + ".pdf"


def storage_path(relative: str) -> Path:
    return get_settings().storage_dir / relative
