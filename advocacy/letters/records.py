"""A city's letters as public records: search them, and export them as CSV plus a zip of the PDFs (DOMAIN.md §6.1).

Every letter a city sends is a record of that city; its officials answer records requests from here.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Campaign, Position
from advocacy.csvexport import safe_cell
from advocacy.directory.models import Bill, City, Committee
from advocacy.letters.compose import official_name, pdf_filename, storage_path
from advocacy.letters.documents import files_of
from advocacy.letters.models import Channel, Delivery, Letter, LetterDocumentFile, LetterStatus
from advocacy.letters.service import LetterError, NotAllowed, is_staff

MAX_ROWS = 5000


@dataclass(frozen=True)
class LetterFilter:
    bill: str = ""  # "AB 1567", "ab1567" or words of the title
    position: Position | None = None
    status: LetterStatus | None = None
    date_from: date | None = None
    date_to: date | None = None


def parse_filter(
    bill: str | None = None,
    position: str | None = None,
    status: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> LetterFilter:
    """A filter from query-string values; bad values raise ``LetterError`` with a message for the person."""
    try:
        parsed_position = Position(position) if position else None
    except ValueError:
        raise LetterError(f"Unknown position {position!r}.") from None
    try:
        parsed_status = LetterStatus(status) if status else None
    except ValueError:
        raise LetterError(f"Unknown status {status!r}.") from None
    start, end = _date(date_from, "From"), _date(date_to, "To")
    if start and end and start > end:
        raise LetterError("The “from” date is after the “to” date.")
    return LetterFilter(
        bill=(bill or "").strip()[:100], position=parsed_position, status=parsed_status, date_from=start, date_to=end
    )


def _date(raw: str | None, label: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise LetterError(f"{label} date must look like 2026-03-16.") from None


@dataclass(frozen=True)
class LetterRecord:
    letter: Letter
    campaign: Campaign
    bill: Bill
    city: City
    committee: Committee | None
    signer: User | None
    recipients: list[Delivery]
    # Further documents (a target group with its own message variant); most letters have none.
    files: list[LetterDocumentFile] = field(default_factory=list)

    @property
    def date(self) -> datetime:
        return self.letter.sent_at or self.letter.queued_at or self.letter.created_at


def records_city(session: Session, user: User, city_id: int | None) -> City | None:
    """Whose records: an official's own city; staff choose one (or all with ``None``)."""
    if user.role is Role.OFFICIAL and user.city_id:
        return session.get(City, user.city_id)
    if not is_staff(user):
        raise NotAllowed("Only a city's officials and league staff see its letters.")
    return session.get(City, city_id) if city_id else None


def search(
    session: Session, user: User, letter_filter: LetterFilter, *, city_id: int | None = None
) -> list[LetterRecord]:
    """Letters of the caller's city (staff: of ``city_id``, or of every city), newest first."""
    city = records_city(session, user, city_id)
    query = (
        select(Letter, Campaign, Bill)
        .join(Campaign, col(Campaign.id) == Letter.campaign_id)
        .join(Bill, col(Bill.id) == Campaign.bill_id)
    )
    if city is not None:
        query = query.where(Letter.city_id == city.id)
    if letter_filter.position is not None:
        query = query.where(Campaign.position == letter_filter.position)
    if letter_filter.status is not None:
        query = query.where(Letter.status == letter_filter.status)
    if letter_filter.date_from is not None:
        query = query.where(col(Letter.created_at) >= datetime.combine(letter_filter.date_from, time.min))
    if letter_filter.date_to is not None:
        query = query.where(
            col(Letter.created_at) < datetime.combine(letter_filter.date_to + timedelta(days=1), time.min)
        )
    rows = session.exec(query.order_by(col(Letter.created_at).desc(), col(Letter.id).desc()).limit(MAX_ROWS)).all()
    wanted = _bill_matcher(letter_filter.bill)
    return [_record(session, letter, campaign, bill) for letter, campaign, bill in rows if wanted(bill)]


def _bill_matcher(text: str):  # type: ignore[no-untyped-def]
    compact = text.replace(" ", "").upper()

    def matches(bill: Bill) -> bool:
        if not text:
            return True
        return compact == f"{bill.measure_type}{bill.number}" or text.lower() in bill.title.lower()

    return matches


def _record(session: Session, letter: Letter, campaign: Campaign, bill: Bill) -> LetterRecord:
    city = session.get(City, letter.city_id)
    assert city is not None
    recipients = list(
        session.exec(select(Delivery).where(Delivery.letter_id == letter.id).order_by(col(Delivery.sort_order))).all()
    )
    return LetterRecord(
        letter=letter,
        campaign=campaign,
        bill=bill,
        city=city,
        committee=session.get(Committee, letter.committee_id) if letter.committee_id else None,
        signer=session.get(User, letter.signer_id) if letter.signer_id else None,
        recipients=recipients,
        files=files_of(session, letter.id or 0),
    )


CSV_COLUMNS = [
    "letter_id",
    "date",
    "city",
    "bill",
    "bill_title",
    "bill_version_date",
    "position",
    "committee",
    "status",
    "signer",
    "signer_title",
    "recipients",
    "portal_receipts",
    "pdf_file",
    "pdf_sha256",
]


def to_csv(records: list[LetterRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(
            safe_cell(cell)
            for cell in [
                r.letter.id,
                r.date.strftime("%Y-%m-%d %H:%M UTC"),
                official_name(r.city),
                r.bill.label,
                r.bill.title,
                r.letter.bill_version_date or "",
                r.campaign.position.value,
                r.committee.full_name if r.committee else "",
                r.letter.status.value,
                r.signer.name if r.signer else "",
                r.signer.title if r.signer else "",
                "; ".join(
                    f"{d.name} <{d.email}> [{d.status.value}]"
                    if d.channel is Channel.EMAIL
                    else f"{d.name} [{d.channel.value}: {d.status.value}]"
                    for d in r.recipients
                ),
                "; ".join(d.receipt_number for d in r.recipients if d.receipt_number),
                "; ".join(name for name, _ in archive_files(r)),
                "; ".join([r.letter.pdf_sha256 or "", *(f.pdf_sha256 for f in r.files)]) if r.letter.pdf_path else "",
            ]
        )
    return out.getvalue()


def archive_name(record: LetterRecord, group: str = "") -> str:
    return f"pdfs/{record.letter.id}_{pdf_filename(record.bill, record.city, record.campaign, group)}"


def archive_files(record: LetterRecord) -> list[tuple[str, str]]:
    """``(name in the zip, stored path)`` of every document of a rendered letter: the main one first."""
    if not record.letter.pdf_path:
        return []
    return [
        (archive_name(record), record.letter.pdf_path),
        *((archive_name(record, f.target_group), f.pdf_path) for f in record.files),
    ]


def to_zip(records: list[LetterRecord]) -> bytes:
    """``letters.csv`` and every rendered PDF (each document of each letter) under ``pdfs/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("letters.csv", to_csv(records))
        for record in records:
            for name, relative in archive_files(record):
                path = storage_path(relative)
                if path.is_file():
                    archive.write(path, name)
    return buffer.getvalue()
