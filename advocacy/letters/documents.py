"""A letter's documents as the letter page, the API and the records export show them.

Most letters are one document (``Letter.pdf_path``). A letter whose recipients include a target group with a message
variant of its own has one further document per such group (``LetterDocumentFile``); each delivery names the
document it gets (``Delivery.document``: "" for the main one, else the group). URLs name a further document with
``?document=<group>`` on the letter's PDF address.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from advocacy.accounts.models import User
from advocacy.campaigns.service import bill_of, get_campaign
from advocacy.directory.models import City
from advocacy.letters.compose import document_label, pdf_filename, storage_path
from advocacy.letters.models import Delivery, Letter, LetterDocumentFile
from advocacy.letters.service import LetterError, LetterNotFound, get_letter


@dataclass(frozen=True)
class LetterFile:
    """One document of a letter: whom it goes to and, once rendered, its stored PDF."""

    document: str  # "" for the main document, else the target group it is written to
    label: str  # "The letter", "The letter to the city's own legislators"
    recipients: list[str]  # names of the deliveries that get it
    pdf_path: str | None  # None until the letter is rendered
    pdf_sha256: str | None
    template_version_id: int | None

    @property
    def query(self) -> str:
        """What the letter's PDF address takes to serve this document ("" for the main one)."""
        return f"?document={self.document}" if self.document else ""


def files_of(session: Session, letter_id: int) -> list[LetterDocumentFile]:
    return list(
        session.exec(
            select(LetterDocumentFile)
            .where(LetterDocumentFile.letter_id == letter_id)
            .order_by(col(LetterDocumentFile.id))
        ).all()
    )


def letter_files(session: Session, letter: Letter, deliveries: list[Delivery]) -> list[LetterFile]:
    """The main document, then each further document in letter order (only the main one for most letters)."""
    stored = {f.target_group: f for f in files_of(session, letter.id or 0)}
    groups = list(dict.fromkeys(d.document for d in deliveries if d.document))
    groups += [group for group in stored if group not in groups]
    found = [
        LetterFile(
            "",
            "The main letter" if groups else document_label(""),
            [d.name for d in deliveries if not d.document],
            letter.pdf_path,
            letter.pdf_sha256,
            letter.template_version_id,
        )
    ]
    for group in groups:
        row = stored.get(group)
        found.append(
            LetterFile(
                group,
                document_label(group),
                [d.name for d in deliveries if d.document == group],
                row.pdf_path if row else None,
                row.pdf_sha256 if row else None,
                row.template_version_id if row else None,
            )
        )
    return found


def document_path(session: Session, letter: Letter, document: str = "") -> str | None:
    """The stored PDF of one of the letter's documents (None until rendered); ``LetterError`` for a document the
    letter does not have."""
    if not document:
        return letter.pdf_path
    row = session.exec(
        select(LetterDocumentFile).where(
            LetterDocumentFile.letter_id == letter.id, LetterDocumentFile.target_group == document
        )
    ).first()
    if row is None:
        if letter.pdf_path:  # rendered: every document was stored then, so this one does not exist
            raise LetterNotFound(f"letter {letter.id} has no document {document!r}")
        return None
    return row.pdf_path


def letter_pdf(session: Session, letter_id: int, user: User, document: str | None = None) -> tuple[bytes, str]:
    """One stored PDF of a letter (``document``: "" or None for the main one, else a group) and its download name;
    ``LetterNotFound`` until it is rendered, or for a document the letter does not have."""
    letter = get_letter(session, letter_id, user)
    document = (document or "").strip()
    if len(document) > 24 or not all(ch.isalnum() or ch == "_" for ch in document):
        raise LetterError("Unknown document: use one of the names the letter lists.")
    relative = document_path(session, letter, document)
    path = storage_path(relative) if relative else None
    if path is None or not path.is_file():
        raise LetterNotFound(f"letter {letter_id} has no PDF yet")
    campaign = get_campaign(session, letter.campaign_id, include_drafts=True)
    city = session.get(City, letter.city_id)
    assert city is not None
    return path.read_bytes(), pdf_filename(bill_of(session, campaign), city, campaign, document)
