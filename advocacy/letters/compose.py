"""The letter document of one city for one campaign: letterhead, addressee, RE line, signer and cc list.

The action page previews exactly what ``render_letter`` later turns into the PDF: both build the document here.

A letter has one main document (addressed to the committee's chair, the Governor or the author) and, when a target
group of its recipients has a message variant of its own, one further document per such group: the same letterhead,
date, RE line, signature and cc block, addressed to that group's people (``group_documents``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import letter_hooks
from advocacy.campaigns.models import Campaign, TargetGroup
from advocacy.campaigns.service import Stage, committee_short_name
from advocacy.db import utcnow
from advocacy.directory.models import Bill, City, Committee, Legislator
from advocacy.letters.document import (
    Addressee,
    BillRef,
    LetterDocument,
    Letterhead,
    Signer,
    TemplateError,
    render_letter_html,
    unfilled_placeholders,
)
from advocacy.letters.recipients import (
    GOVERNOR_ADDRESS_LINES,
    LEGISLATURE_ADDRESS_LINES,
    Recipient,
    address_lines,
    chair_of,
    honorific,
)
from advocacy.settings import get_settings

CALIFORNIA = ZoneInfo("America/Los_Angeles")
UNSIGNED_NAME = "(the official who signs for the city)"


def california_date(at_utc: datetime | None = None) -> date:
    """The letter's date as the city sees it (a letter sent at 6 p.m. in Sacramento is not dated tomorrow)."""
    return (at_utc or utcnow()).replace(tzinfo=UTC).astimezone(CALIFORNIA).date()


def city_seal(city: City) -> tuple[bytes | None, str]:
    """The city's uploaded seal or logo and its MIME type ((None, "image/png") when it has none)."""
    if city.seal_path:
        path = get_settings().storage_dir / city.seal_path
        if path.is_file():
            return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "image/png"
    return None, "image/png"


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
    seal, mimetype = city_seal(city)
    lines = [line.strip() for line in city.address.split(";") if line.strip()] if city.address else []
    return Letterhead(
        city_name=city.name, official_name=official_name(city), address_lines=lines, seal=seal, seal_mimetype=mimetype
    )


def addressee(session: Session, campaign: Campaign, bill: Bill, stage: Stage) -> Addressee:
    """The chair of the committee now hearing the bill; the Governor for requests; else the author."""
    if campaign.position.to_governor:
        return _governor_addressee()
    if stage.committee is not None:
        return _chair_addressee(session, stage.committee)
    author = session.get(Legislator, bill.author_id) if bill.author_id else None
    if author is not None:
        member = "Member of the Assembly" if str(author.chamber) == "Assembly" else "Member of the Senate"
        return Addressee(
            name=honorific(author),
            role_line=member,
            address_lines=address_lines(author.capitol_address),
            salutation=f"Dear {_title(author)} {_surname(author)}:",
        )
    return Addressee(
        name=f"Members of the {bill.origin_chamber}",
        role_line="California State Legislature",
        address_lines=LEGISLATURE_ADDRESS_LINES,
        salutation="Dear Members:",
    )


def _governor_addressee() -> Addressee:
    settings = get_settings()
    return Addressee(
        name=f"The Honorable {settings.governor_name}",
        role_line="Governor, State of California",
        address_lines=GOVERNOR_ADDRESS_LINES,
        salutation=f"Dear Governor {settings.governor_name.split()[-1]}:",
    )


def _chair_addressee(session: Session, committee: Committee) -> Addressee:
    chair = chair_of(session, committee)
    if chair is None:
        return _committee_addressee(committee)
    return Addressee(
        name=honorific(chair),
        role_line=f"Chair, {committee.full_name}",
        address_lines=address_lines(chair.capitol_address),
        salutation=f"Dear Chair {_surname(chair)}:",
    )


def _committee_addressee(committee: Committee) -> Addressee:
    return Addressee(
        name=committee.full_name,
        role_line="California State Legislature",
        address_lines=LEGISLATURE_ADDRESS_LINES,
        salutation="Dear Committee Members:",
    )


def _surname(legislator: Legislator) -> str:
    return legislator.family_name or legislator.name.split()[-1]


def _title(legislator: Legislator) -> str:
    return "Assembly Member" if str(legislator.chamber) == "Assembly" else "Senator"


def _and_join(parts: list[str]) -> str:
    """ "A", "A and B", "A, B, and C"."""
    if len(parts) < 3:
        return " and ".join(parts)
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


#: Up to this many people are named one by one in the addressee block of a letter to several; more are addressed
#: together (a large city's delegation can be twenty legislators).
MAX_NAMED_ADDRESSEES = 4


def people_addressee(legislators: list[Legislator], city: City) -> Addressee:
    """A letter to a few legislators at once ("The Honorable A / The Honorable B", "Dear Assembly Member X and
    Senator Y:"): Assembly members first, by district; one person keeps their own Capitol address."""
    people = sorted(legislators, key=lambda m: (str(m.chamber) != "Assembly", m.district))
    if not people:
        return Addressee(
            name="The Honorable Members of the Legislature",
            role_line="California State Legislature",
            address_lines=LEGISLATURE_ADDRESS_LINES,
            salutation="Dear Members:",
        )

    def role(member: Legislator) -> str:
        house = "Assembly" if str(member.chamber) == "Assembly" else "Senate"
        return f"Member of the {house}, District {member.district}"

    if len(people) == 1:
        [member] = people
        return Addressee(
            name=honorific(member),
            role_line=role(member),
            address_lines=address_lines(member.capitol_address) or LEGISLATURE_ADDRESS_LINES,
            salutation=f"Dear {_title(member)} {_surname(member)}:",
        )
    if len(people) <= MAX_NAMED_ADDRESSEES:
        first, *others = people
        return Addressee(
            name=honorific(first),
            role_line=role(first),
            address_lines=LEGISLATURE_ADDRESS_LINES,
            salutation=f"Dear {_and_join([f'{_title(m)} {_surname(m)}' for m in people])}:",
            also=[(honorific(m), role(m)) for m in others],
        )
    houses = {str(m.chamber) for m in people}
    greeting = {
        frozenset({"Assembly"}): "Dear Assembly Members:",
        frozenset({"Senate"}): "Dear Senators:",
    }.get(frozenset(houses), "Dear Assembly Members and Senators:")
    return Addressee(
        name="The Honorable Members of the Legislature",
        role_line=f"Representing the {official_name(city)}",
        address_lines=LEGISLATURE_ADDRESS_LINES,
        salutation=greeting,
    )


def group_addressee(
    session: Session, group: str, legislators: list[Legislator], *, stage: Stage, city: City
) -> Addressee:
    """The addressee block of the document written to one target group's recipients."""
    if group == TargetGroup.GOVERNOR:
        return _governor_addressee()
    if group == TargetGroup.COMMITTEE and stage.committee is not None:
        return _chair_addressee(session, stage.committee)
    if group == TargetGroup.ALL_ASSEMBLY:
        return Addressee(
            name="The Honorable Members of the California State Assembly",
            role_line="California State Legislature",
            address_lines=LEGISLATURE_ADDRESS_LINES,
            salutation="Dear Assembly Members:",
        )
    if group == TargetGroup.ALL_SENATE:
        return Addressee(
            name="The Honorable Members of the California State Senate",
            role_line="California State Legislature",
            address_lines=LEGISLATURE_ADDRESS_LINES,
            salutation="Dear Senators:",
        )
    return people_addressee(legislators, city)  # the author; the city's own Assembly member(s) and Senator(s)


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
    query = select(User).where(is_regional_manager_of(User, city.division_id))
    return list(session.exec(query.order_by(col(User.id))).all())


def is_regional_manager_of(user: Any, division_id: Any) -> ColumnElement[bool]:
    """The condition on ``user`` (``User`` or an alias of it) for the division's active regional public affairs
    managers, who are in the cc block of its cities' letters and copied on them."""
    return and_(user.role == Role.REGIONAL_MANAGER, user.division_id == division_id, col(user.active).is_(True))


def cc_list(
    session: Session,
    city: City,
    copies: list[CopyLine],
    stage: Stage,
    addressee_name: str | Collection[str],
    managers: list[User] | None = None,
) -> list[str]:
    """The cc block: the committee's members as one line, every other legislator by name, the league, the RPAM
    (``managers``: the division's regional managers when the caller has them already). Whoever the letter is
    addressed to (one name, or several) is not copied on it."""
    settings = get_settings()
    addressed = {addressee_name} if isinstance(addressee_name, str) else set(addressee_name)
    lines: list[str] = []
    committee = stage.committee
    if committee is not None and any(
        c.key.startswith("legislator:") and c.name not in addressed and committee_short_name(committee) in c.reason
        for c in copies
    ):
        lines.append(f"Members, {committee.full_name}")
    for copy in copies:
        if copy.cc_note and copy.name not in addressed:
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


def pdf_filename(bill: Bill, city: City, campaign: Campaign, group: str = "") -> str:
    """ "AB-1567_Sacramento_Support.pdf": readable in a legislator's inbox, safe on any file system. A further
    document names its group: "AB-1567_Sacramento_Support_Delegation.pdf"."""
    raw = f"{bill.measure_type}-{bill.number}_{city.name}_{campaign.position.value}"
    if group:
        raw += f"_{GROUP_FILE_NAMES.get(group, group)}"
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in raw).strip("-") + ".pdf"


# --------------------------------------------------------------------------------------------------------------
# Further documents: one per target group whose message variant differs from the main document's

#: How pages name the document written to each target group, and the word its PDF's file name ends with.
GROUP_LABELS = {
    TargetGroup.COMMITTEE.value: "The letter to the committee",
    TargetGroup.AUTHOR.value: "The letter to the bill's author",
    TargetGroup.OWN_LEGISLATORS.value: "The letter to the city's own legislators",
    TargetGroup.ALL_ASSEMBLY.value: "The letter to every Assembly member",
    TargetGroup.ALL_SENATE.value: "The letter to every Senator",
    TargetGroup.GOVERNOR.value: "The letter to the Governor",
}
GROUP_FILE_NAMES = {
    TargetGroup.COMMITTEE.value: "Committee",
    TargetGroup.AUTHOR.value: "Author",
    TargetGroup.OWN_LEGISLATORS.value: "Delegation",
    TargetGroup.ALL_ASSEMBLY.value: "Assembly",
    TargetGroup.ALL_SENATE.value: "Senate",
    TargetGroup.GOVERNOR.value: "Governor",
}
MAIN_DOCUMENT_LABEL = "The letter"


def document_label(group: str) -> str:
    return GROUP_LABELS.get(group, f"The letter to {group}") if group else MAIN_DOCUMENT_LABEL


@dataclass(frozen=True)
class GroupDocument:
    """The letter as written to one target group: its own variant and addressee block, everything else shared."""

    group: str  # a TargetGroup value
    document: LetterDocument
    template_version_id: int | None
    names: list[str]  # the recipients it goes to

    @property
    def label(self) -> str:
        return document_label(self.group)


def group_documents(
    session: Session,
    main: LetterDocument,
    members: dict[str, list[tuple[str, Legislator | None]]],
    *,
    campaign: Campaign,
    city: City,
    stage: Stage,
) -> list[GroupDocument]:
    """The further documents of a letter whose main document is ``main``: one per group of ``members`` (group →
    its recipients' names and legislators, in letter order). Each takes the group's variant (console hook) and an
    addressee block for its people, who are then not in its cc block."""
    found = []
    for group, people in members.items():
        source, version_id = letter_hooks.group_template(session, campaign, city.id or 0, group)
        names = [name for name, _ in people]
        to = group_addressee(
            session, group, [person for _, person in people if person is not None], stage=stage, city=city
        )
        addressed = {*names, to.name, *(name for name, _ in to.also)}
        cc = [line for line in main.cc if line.partition(", ")[0] not in addressed]
        document = replace(main, addressee=to, cc=cc, template_source=source, template_version_id=version_id)
        found.append(GroupDocument(group, document, version_id, names))
    return found


@dataclass(frozen=True)
class DocumentPreview:
    """A further document on the action page: whom it goes to, its HTML, and what would block sending it."""

    group: str
    label: str
    names: list[str]
    html: str
    placeholders: list[str]
    error: str


def preview_documents(
    session: Session, main: LetterDocument, recipients: list[Recipient], *, campaign: Campaign, city: City, stage: Stage
) -> list[DocumentPreview]:
    """The action page's view of every further document of ``city``'s letter (none in the common case)."""
    members: dict[str, list[tuple[str, Legislator | None]]] = {}
    for recipient in recipients:
        if recipient.document:
            members.setdefault(recipient.document, []).append((recipient.name, recipient.legislator))
    previews = []
    for item in group_documents(session, main, members, campaign=campaign, city=city, stage=stage):
        html, placeholders, error = "", [], ""
        try:
            html = render_letter_html(item.document)
            placeholders = unfilled_placeholders(item.document)
        except TemplateError as exc:
            error = str(exc)
        previews.append(DocumentPreview(item.group, item.label, item.names, html, placeholders, error))
    return previews


def storage_path(relative: str) -> Path:
    return get_settings().storage_dir / relative
