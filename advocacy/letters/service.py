"""Position letters: preview, send, request a signature, portal submissions, and every state move.

Rules live here: only an official of the city who may sign sends; one letter per campaign, city and committee stage
(a second press, a second official, a replayed or concurrent request all find the first); unfilled placeholders
block sending. Functions that change something commit, and enqueue the next worker step only after the commit.
The worker steps themselves (render, deliver, sweep) are in ``letters.delivery``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import Role, User
from advocacy.campaigns import letter_hooks
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.campaigns.service import Stage, bill_of, get_campaign, stage_of
from advocacy.db import after_commit, utcnow
from advocacy.directory.models import Bill, City
from advocacy.letters.compose import (
    CopyLine,
    DocumentPreview,
    build_document,
    california_date,
    preview_documents,
    signer_of,
    subject_line,
)
from advocacy.letters.document import (
    LetterDocument,
    TemplateError,
    render_letter_html,
    stored_document,
    unfilled_placeholders,
)
from advocacy.letters.models import (
    DELIVERY_MOVES,
    FIRST_STATUS,
    LETTER_LABELS,
    LETTER_MOVES,
    LOCAL_NOTE_MAX,
    Channel,
    Delivery,
    DeliveryStatus,
    IdempotencyKey,
    Letter,
    LetterStatus,
    SignatureRequest,
)
from advocacy.letters.recipients import Recipient, compute_recipients

if TYPE_CHECKING:
    from advocacy.letters.documents import LetterFile
    from advocacy.letters.paper import MailPacket

log = logging.getLogger("advocacy.letters")

IDEMPOTENCY_KEY_MAX = 200
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class LetterError(ValueError):
    """Bad input or a refused request; the message is meant for the person who asked. Nothing was changed."""


class LetterNotFound(LookupError):
    """No such letter, or not one the caller may see (the two are not told apart)."""


class NotAllowed(PermissionError):
    """The caller may see this but not do it."""


class RefusedMove(RuntimeError):
    """A state move the state machine does not allow (a bug, or a race lost to another worker)."""


def _move(item: Letter | Delivery, to: LetterStatus | DeliveryStatus) -> None:
    """The one place letters and deliveries change status; raises ``RefusedMove`` on a move the table refuses."""
    check_move(item, to)
    item.status = to
    item.status_changed_at = utcnow()


def check_move(item: Letter | Delivery, to: LetterStatus | DeliveryStatus) -> None:
    """``RefusedMove`` unless the state table allows ``item`` to move to ``to`` (for writers that move many rows in
    one statement: ``delivery.move_deliveries``)."""
    allowed: frozenset[LetterStatus] | frozenset[DeliveryStatus]
    allowed = LETTER_MOVES[item.status] if isinstance(item, Letter) else DELIVERY_MOVES[item.status]
    if to not in allowed:
        raise RefusedMove(f"{type(item).__name__.lower()} {item.id}: {item.status} → {to} is not allowed")


# --------------------------------------------------------------------------------------------------------------
# Who may do what


def is_staff(user: User) -> bool:
    return user.role in (Role.STAFF, Role.ADMIN)


def official_city(session: Session, user: User) -> City:
    """The city an official acts for; anyone else is refused (staff do not write a city's letters)."""
    city = session.get(City, user.city_id) if user.role is Role.OFFICIAL and user.city_id else None
    if city is None:
        raise NotAllowed("Only a city's officials write its letters.")
    return city


def may_sign_for(user: User, city_id: int) -> bool:
    return user.role is Role.OFFICIAL and user.city_id == city_id and user.may_sign and user.active


def can_see_city(user: User, city_id: int) -> bool:
    return is_staff(user) or (user.role is Role.OFFICIAL and user.city_id == city_id)


def get_letter(session: Session, letter_id: int, user: User) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None or not can_see_city(user, letter.city_id):
        raise LetterNotFound(f"no letter {letter_id}")
    return letter


def signers_of(session: Session, city_id: int) -> list[User]:
    return list(
        session.exec(
            select(User)
            .where(
                User.role == Role.OFFICIAL,
                User.city_id == city_id,
                col(User.may_sign).is_(True),
                col(User.active).is_(True),
            )
            .order_by(col(User.id))
        ).all()
    )


def clean_note(raw: str | None) -> str:
    note = _CONTROL_CHARS.sub("", (raw or "").replace("\r\n", "\n")).strip()
    if len(note) > LOCAL_NOTE_MAX:
        raise LetterError(
            f"The local note is {len(note):,} characters long; at most {LOCAL_NOTE_MAX:,} fit on the "
            "letter. Please shorten it."
        )
    return note


# --------------------------------------------------------------------------------------------------------------
# The action page (a GET: computes, never writes)


@dataclass
class Draft:
    """One city's letter for one campaign as it stands now: recipients, document, and the letter if one exists."""

    campaign: Campaign
    bill: Bill
    stage: Stage
    city: City
    recipients: list[Recipient]
    document: LetterDocument | None
    html: str
    placeholders: list[str]
    template_error: str
    letter: Letter | None
    can_sign: bool
    signers: list[User] = field(default_factory=list)
    approval_queue: bool = False  # the campaign holds signed letters for league review before delivery
    review_comment: str = ""  # why league staff returned the letter, while it is a draft again
    # Further documents: one per target group whose message variant differs from the main one (usually none).
    documents: list[DocumentPreview] = field(default_factory=list)


def find_letter(session: Session, campaign_id: int, city_id: int, stage_key: str) -> Letter | None:
    return session.exec(
        select(Letter).where(Letter.campaign_id == campaign_id, Letter.city_id == city_id, Letter.stage == stage_key)
    ).first()


def copies_of(recipients: list[Recipient]) -> list[CopyLine]:
    return [CopyLine(key=r.key, name=r.name, reason=r.reason, cc_note=r.cc_note) for r in recipients]


def draft_for(session: Session, campaign: Campaign, city: City, user: User, local_note: str | None = None) -> Draft:
    """What ``city``'s letter for ``campaign`` would be if ``user`` sent it now (or is, if it exists)."""
    bill = bill_of(session, campaign)
    stage = stage_of(session, campaign, bill)
    letter = find_letter(session, campaign.id or 0, city.id or 0, stage.key)
    recipients = compute_recipients(session, campaign, bill, city, stage)
    can_sign = may_sign_for(user, city.id or 0)
    # A draft is signed by whoever sends it; a letter past draft (held for review, sent) by the one who did.
    signed = letter is not None and letter.signer_id is not None and letter.status is not LetterStatus.DRAFT
    if can_sign and not signed:
        signer: User | None = user
    else:
        signer = session.get(User, letter.signer_id) if letter and letter.signer_id else None
    note = local_note if local_note is not None else (letter.local_note if letter else "")
    document = build_document(
        session,
        campaign=campaign,
        bill=bill,
        city=city,
        stage=stage,
        signer=signer,
        local_note=note,
        copies=copies_of(recipients),
        letter_date=california_date(),
    )
    html, placeholders, error = "", [], ""
    try:
        html = render_letter_html(document)
        placeholders = unfilled_placeholders(document)
    except TemplateError as exc:
        error = str(exc)
    # Every document is checked before sending, not only the main one.
    documents = preview_documents(session, document, recipients, campaign=campaign, city=city, stage=stage)
    for extra in documents:
        error = error or extra.error
        placeholders += [p for p in extra.placeholders if p not in placeholders]
    return Draft(
        campaign=campaign,
        bill=bill,
        stage=stage,
        city=city,
        recipients=recipients,
        document=document,
        html=html,
        placeholders=placeholders,
        template_error=error,
        letter=letter,
        can_sign=can_sign,
        signers=signers_of(session, city.id or 0),
        approval_queue=letter_hooks.holds_for_review(session, campaign.id or 0),
        review_comment=letter_hooks.review_comment(session, letter) if letter is not None else "",
        documents=documents,
    )


def action_draft(
    session: Session, campaign_id: int, user: User, city_id: int | None = None, local_note: str | None = None
) -> Draft | None:
    """The action page's draft: the official's own city; staff pick a city (``None`` when they have not).

    ``local_note`` previews the letter with a note that is not saved (a GET saves nothing)."""
    campaign = get_campaign(session, campaign_id, include_drafts=is_staff(user))
    note = clean_note(local_note) if local_note is not None else None
    if user.role is Role.OFFICIAL:
        return draft_for(session, campaign, official_city(session, user), user, note)
    city = session.get(City, city_id) if city_id else None
    return draft_for(session, campaign, city, user, note) if city is not None and is_staff(user) else None


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    bill: Bill
    stage: Stage
    letter: Letter | None  # the caller's city's letter at this stage


def campaign_rows(session: Session, user: User) -> list[CampaignRow]:
    """Active campaigns (staff: drafts too), each with the caller's city's letter if one exists."""
    from advocacy.campaigns.service import list_campaigns

    statuses = (CampaignStatus.ACTIVE, CampaignStatus.DRAFT) if is_staff(user) else (CampaignStatus.ACTIVE,)
    city_id = user.city_id if user.role is Role.OFFICIAL else None
    rows = []
    for campaign in list_campaigns(session, statuses=statuses):
        bill = bill_of(session, campaign)
        stage = stage_of(session, campaign, bill)
        letter = find_letter(session, campaign.id or 0, city_id, stage.key) if city_id else None
        rows.append(CampaignRow(campaign=campaign, bill=bill, stage=stage, letter=letter))
    return rows


# --------------------------------------------------------------------------------------------------------------
# Sending


def _check_sendable(draft: Draft) -> None:
    if draft.template_error:
        raise LetterError(f"This letter cannot be sent: {draft.template_error}. The league has been told.")
    if draft.placeholders:
        raise LetterError("Fill in or delete these placeholders before sending: " + ", ".join(draft.placeholders))
    if not draft.recipients:
        raise LetterError("This letter has no recipients in the data; please tell the league.")


def _open_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status is not CampaignStatus.ACTIVE:
        raise LetterError("This campaign is closed; its letters can no longer be sent.")
    return campaign


def send_letter(session: Session, campaign_id: int, user: User, local_note: str | None = None) -> Letter:
    """The Send button: queue the city's letter for this campaign and stage (or, in a campaign with the approval
    queue, hold it for league review), or return the one that exists."""
    city = official_city(session, user)
    campaign = _open_campaign(session, campaign_id)
    note = clean_note(local_note)
    draft = draft_for(session, campaign, city, user, note)
    if draft.letter is not None and draft.letter.status is not LetterStatus.DRAFT:
        return draft.letter  # a second press, a second official, a replay: the letter already went (or is held)
    if not draft.can_sign:
        raise NotAllowed(
            "Only an official who may sign for the city can send its letters; use “Request signature” to ask them."
        )
    _check_sendable(draft)
    if draft.letter is not None:
        return _submit_existing_draft(session, draft, user, note)
    try:
        letter = _new_letter(session, draft, user, note)
        action = _submit(session, letter, draft, user, note)
        accounts.record(session, user, action, f"letter:{letter.id}", {"campaign": campaign.id})
        session.commit()
    except IntegrityError:
        session.rollback()  # another request made this letter a moment ago: that one is the letter
        existing = find_letter(session, campaign.id or 0, city.id or 0, draft.stage.key)
        if existing is None:
            raise
        return existing
    return letter


def _new_letter(session: Session, draft: Draft, user: User, note: str) -> Letter:
    letter = Letter(
        campaign_id=draft.campaign.id or 0,
        city_id=draft.city.id or 0,
        stage=draft.stage.key,
        committee_id=draft.stage.committee.id if draft.stage.committee else None,
        bill_version_date=draft.bill.version_date,
        local_note=note,
        prepared_by_id=user.id or 0,
        subject=subject_line(draft.campaign, draft.bill, draft.city),
        template_version_id=letter_hooks.template_version_id(session, draft.campaign, draft.city.id or 0, draft.stage),
    )
    session.add(letter)
    session.flush()  # the unique constraint speaks here, before anything else is written
    _supersede_earlier(session, letter)
    return letter


def _supersede_earlier(session: Session, letter: Letter) -> None:
    """The bill was amended or moved on: the city's letters for earlier stages are superseded (kept as records)."""
    earlier = session.exec(
        select(Letter).where(
            Letter.campaign_id == letter.campaign_id, Letter.city_id == letter.city_id, Letter.stage != letter.stage
        )
    ).all()
    for old in earlier:
        if LetterStatus.SUPERSEDED in LETTER_MOVES[old.status]:
            _move(old, LetterStatus.SUPERSEDED)
            session.add(old)


def _queue(session: Session, letter: Letter, draft: Draft, signer: User, note: str) -> None:
    """Deliveries for every recipient, the signer recorded, the letter queued; render_letter after the commit."""
    for recipient in draft.recipients:
        status = FIRST_STATUS[recipient.channel]
        delivery = Delivery(
            letter_id=letter.id or 0,
            channel=recipient.channel,
            recipient_key=recipient.key,
            legislator_id=recipient.legislator.id if recipient.legislator else None,
            committee_id=recipient.committee.id if recipient.committee else None,
            name=recipient.name,
            email=recipient.email,
            reason=recipient.reason[:300],
            cc_note=recipient.cc_note[:200],
            sort_order=recipient.sort_order,
            status=status,
            document=recipient.document,
        )
        if recipient.channel is Channel.EMAIL and not recipient.email:
            _move(delivery, DeliveryStatus.FAILED)
            delivery.error = "No e-mail address on file for this recipient."
        session.add(delivery)
    now = utcnow()
    letter.signer_id = signer.id
    letter.local_note = note
    letter.queued_at = letter.next_step_at = now
    if draft.document is not None:
        # What the signer saw, dated today, is what the worker renders (the recipients above are its cc list).
        signed = replace(
            draft.document, letter_date=california_date(now), signer=signer_of(signer, draft.city), local_note=note
        )
        letter.document = stored_document(signed)
    _move(letter, LetterStatus.QUEUED)
    session.add(letter)
    letter_id = letter.id or 0
    after_commit(session, lambda: enqueue_render(letter_id))


def _submit(session: Session, letter: Letter, draft: Draft, signer: User, note: str) -> str:
    """A signer's Send: queued for delivery, or held for league review in a campaign with the approval queue (the
    console records the review through its hook). Returns the audit action; the caller commits."""
    if letter_hooks.holds_for_review(session, draft.campaign.id or 0):
        letter.signer_id = signer.id
        letter.local_note = note
        letter.next_step_at = None  # a person decides next, not a worker
        _move(letter, LetterStatus.AWAITING_APPROVAL)
        session.add(letter)
        session.flush()  # the version check speaks here: of two signers pressing at once, one holds the letter
        letter_hooks.letter_held(session, letter, signer)
        return "letter.submit_for_review"
    _queue(session, letter, draft, signer, note)
    return "letter.send"


def _submit_existing_draft(session: Session, draft: Draft, user: User, note: str) -> Letter:
    letter = draft.letter
    assert letter is not None
    try:
        action = _submit(session, letter, draft, user, note)
        accounts.record(session, user, action, f"letter:{letter.id}", {"from": "draft"})
        session.commit()
    except (StaleDataError, IntegrityError):
        session.rollback()  # a second signer pressed Send at the same moment: theirs went
        session.refresh(letter)
    return letter


def send_draft(session: Session, letter_id: int, user: User, local_note: str | None = None) -> Letter:
    """A signer sends a letter another official prepared (the link in the signature request)."""
    letter = get_letter(session, letter_id, user)
    if letter.status is not LetterStatus.DRAFT:
        return letter
    if not may_sign_for(user, letter.city_id):
        raise NotAllowed("Only an official who may sign for the city can send this letter.")
    campaign = _open_campaign(session, letter.campaign_id)
    note = clean_note(letter.local_note if local_note is None else local_note)
    draft = draft_for(session, campaign, official_city(session, user), user, note)
    if draft.letter is None or draft.letter.id != letter.id:
        raise LetterError(
            "The bill has moved on since this letter was prepared; open the campaign to write the "
            "letter for where the bill is now."
        )
    _check_sendable(draft)
    return _submit_existing_draft(session, draft, user, note)


# --------------------------------------------------------------------------------------------------------------
# The approval queue's decisions (``campaigns.approval`` calls these; each leaves the commit to its caller, which
# records its review in the same transaction)


def _held(session: Session, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise LetterNotFound(f"no letter {letter_id}")
    if letter.status is not LetterStatus.AWAITING_APPROVAL:
        raise LetterError(f"This letter is not held for review: it is {LETTER_LABELS[letter.status].lower()}.")
    return letter


def release_held(session: Session, letter_id: int) -> Letter:
    """Staff approved a held letter: it is queued for rendering and delivery as its signer, with its local note, to
    the recipients of now (``render_letter`` is enqueued after the caller's commit). Refused, changing nothing, when
    the signer may no longer sign, the campaign is closed, the bill has moved on, or the letter no longer renders."""
    letter = _held(session, letter_id)
    signer = session.get(User, letter.signer_id) if letter.signer_id else None
    if signer is None or not may_sign_for(signer, letter.city_id):
        raise NotAllowed("The signer may no longer sign for the city; return the letter instead.")
    campaign = _open_campaign(session, letter.campaign_id)
    draft = draft_for(session, campaign, official_city(session, signer), signer, letter.local_note)
    if draft.letter is None or draft.letter.id != letter.id:
        raise LetterError("The bill has moved on since this letter was held; it can no longer be approved.")
    _check_sendable(draft)
    _queue(session, letter, draft, signer, letter.local_note)
    session.flush()  # of two staff approving at once, the second gets StaleDataError here
    return letter


def return_held(session: Session, letter_id: int) -> Letter:
    """Staff returned a held letter: a draft again, which its signer may edit and send again."""
    letter = _held(session, letter_id)
    _move(letter, LetterStatus.DRAFT)
    session.add(letter)
    session.flush()
    return letter


def supersede_held(session: Session, campaign_id: int, stage_key: str) -> list[Letter]:
    """The bill moved on to ``stage_key``: the campaign's letters still held for review at an earlier stage will
    never be approved as they are (a committee reads only letters about its own hearing and the current version)."""
    held = session.exec(
        select(Letter).where(
            Letter.campaign_id == campaign_id,
            Letter.stage != stage_key,
            Letter.status == LetterStatus.AWAITING_APPROVAL,
        )
    ).all()
    for letter in held:
        _move(letter, LetterStatus.SUPERSEDED)
        session.add(letter)
    return list(held)


def request_signature(session: Session, campaign_id: int, user: User, local_note: str | None = None) -> Letter:
    """An official who may not sign prepares the letter and asks the city's signers to review and send it."""
    city = official_city(session, user)
    campaign = _open_campaign(session, campaign_id)
    note = clean_note(local_note)
    draft = draft_for(session, campaign, city, user, note)
    if draft.letter is not None and draft.letter.status is not LetterStatus.DRAFT:
        return draft.letter
    if not draft.signers:
        raise LetterError(
            f"No official of the {city.name} may sign letters yet. Ask the league to mark who signs for your city."
        )
    try:
        if draft.letter is None:
            letter = _new_letter(session, draft, user, note)
        else:
            letter = draft.letter
            letter.local_note = note
            session.add(letter)
        request = SignatureRequest(letter_id=letter.id or 0, requested_by_id=user.id or 0)
        session.add(request)
        session.flush()
        request_id = request.id or 0
        after_commit(session, lambda: enqueue_signature_request(request_id))
        accounts.record(session, user, "letter.request_signature", f"letter:{letter.id}")
        session.commit()
    except (IntegrityError, StaleDataError):
        session.rollback()
        existing = find_letter(session, campaign.id or 0, city.id or 0, draft.stage.key)
        if existing is None:
            raise
        return existing
    return letter


def fingerprint(campaign_id: int, local_note: str | None) -> str:
    return hashlib.sha256(f"POST campaigns/{campaign_id}/letters\n{local_note or ''}".encode()).hexdigest()


def send_idempotent(session: Session, campaign_id: int, user: User, local_note: str | None, key: str | None) -> Letter:
    """``send_letter`` for the API: a replay with the same ``Idempotency-Key`` returns the first answer's letter."""
    if key is not None:
        key = key.strip()
        if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
            raise LetterError(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters.")
        stored = _stored_key(session, user, key)
        if stored is not None:
            if stored.request_fingerprint != fingerprint(campaign_id, local_note):
                raise LetterError("This Idempotency-Key was already used for a different request.")
            return get_letter(session, stored.letter_id, user)
    letter = send_letter(session, campaign_id, user, local_note)
    if key is not None:
        session.add(
            IdempotencyKey(
                user_id=user.id or 0,
                key=key,
                letter_id=letter.id or 0,
                request_fingerprint=fingerprint(campaign_id, local_note),
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # the same key, replayed concurrently, was stored first: same letter either way
    return letter


def _stored_key(session: Session, user: User, key: str) -> IdempotencyKey | None:
    return session.exec(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
    ).first()


# --------------------------------------------------------------------------------------------------------------
# The Position Letter Portal


def mark_portal_submitted(
    session: Session, delivery_id: int, user: User, receipt_number: str, *, letter_id: int | None = None
) -> Delivery:
    """A person uploaded the packet to the portal and records the receipt it showed (staff or the city's officials).

    ``letter_id``: the letter the request names; a delivery of another letter is not found (nothing is changed)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or (letter_id is not None and delivery.letter_id != letter_id):
        raise LetterNotFound(f"no delivery {delivery_id}" + (f" on letter {letter_id}" if letter_id else ""))
    letter = get_letter(session, delivery.letter_id, user)
    receipt = " ".join(receipt_number.split())
    if delivery.channel is not Channel.PORTAL:
        raise LetterError("Only a Position Letter Portal delivery can be marked as submitted.")
    if not 1 <= len(receipt) <= 80:
        raise LetterError("Enter the receipt number the portal showed (at most 80 characters).")
    if delivery.status is DeliveryStatus.PORTAL_SUBMITTED:
        if delivery.receipt_number == receipt:
            return delivery
        raise LetterError(f"Already marked as submitted, with receipt {delivery.receipt_number}.")
    if not letter.pdf_path:
        raise LetterError("The letter's PDF is not ready yet; submit it to the portal once it is.")
    _move(delivery, DeliveryStatus.PORTAL_SUBMITTED)
    delivery.receipt_number = receipt
    delivery.submitted_by_id = user.id
    delivery.submitted_at = utcnow()
    session.add(delivery)
    accounts.record(session, user, "letter.portal_submitted", f"delivery:{delivery.id}", {"receipt": receipt})
    session.commit()
    return delivery


# --------------------------------------------------------------------------------------------------------------
# The letter page and its PDF

PORTAL_URL = "https://calegislation.lc.ca.gov/Advocates/"
# How committees list conditional positions (DOMAIN.md §1.5): worth a warning beside the portal's stance field.
STANCE_NOTES = {
    "Support if Amended": "Many committees file “Support if Amended” letters without listing them in the analysis.",
    "Oppose Unless Amended": "Many committees list “Oppose Unless Amended” as opposition.",
}


@dataclass(frozen=True)
class PortalPacket:
    """What a person needs to submit the letter through the Position Letter Portal (which has no API)."""

    subject: str
    bill: str
    version: str
    stance: str
    stance_note: str
    committee: str
    pdf_url: str
    portal_url: str = PORTAL_URL


@dataclass
class LetterPage:
    letter: Letter
    campaign: Campaign
    bill: Bill
    city: City
    deliveries: list[Delivery]
    signer: User | None
    preparer: User | None
    packet: PortalPacket | None
    can_send: bool  # a signer looking at a draft
    can_mark_portal: bool
    draft: Draft | None  # the preview of a draft letter, or of one held for league review
    approval_queue: bool = False  # the campaign holds signed letters for league review before delivery
    review_comment: str = ""  # why league staff returned the letter, while it is a draft again
    files: list[LetterFile] = field(default_factory=list)  # its documents: the main one, then one per variant group
    mail_packet: MailPacket | None = None  # a committee that takes letters only on paper
    can_mark_mailed: bool = False


def deliveries_for(session: Session, letter_id: int) -> list[Delivery]:
    return list(
        session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id).order_by(col(Delivery.sort_order), col(Delivery.id))
        ).all()
    )


def letter_page(session: Session, letter_id: int, user: User) -> LetterPage:
    letter = get_letter(session, letter_id, user)
    campaign = get_campaign(session, letter.campaign_id, include_drafts=True)
    bill = bill_of(session, campaign)
    city = session.get(City, letter.city_id)
    assert city is not None
    deliveries = deliveries_for(session, letter_id)
    draft = None
    if (letter.status is LetterStatus.DRAFT and user.role is Role.OFFICIAL) or (
        letter.status is LetterStatus.AWAITING_APPROVAL  # the signer, and the staff who review it, read it here
    ):
        draft = draft_for(session, campaign, city, user)
    packet = None
    portal = [d for d in deliveries if d.channel is Channel.PORTAL]
    if portal:
        packet = PortalPacket(
            subject=letter.subject,
            bill=bill.label,
            version=str(letter.bill_version_date.isoformat()) if letter.bill_version_date else "the current version",
            stance=campaign.position.value,
            stance_note=STANCE_NOTES.get(campaign.position.value, ""),
            committee=", ".join(d.name for d in portal),
            pdf_url=f"/letters/{letter.id}/pdf" + (f"?document={portal[0].document}" if portal[0].document else ""),
        )
    from advocacy.letters.documents import letter_files
    from advocacy.letters.paper import mail_packet

    paper = mail_packet(session, letter, deliveries, campaign, bill)
    return LetterPage(
        letter=letter,
        campaign=campaign,
        bill=bill,
        city=city,
        deliveries=deliveries,
        signer=session.get(User, letter.signer_id) if letter.signer_id else None,
        preparer=session.get(User, letter.prepared_by_id),
        packet=packet,
        can_send=letter.status is LetterStatus.DRAFT and may_sign_for(user, letter.city_id),
        can_mark_portal=bool(portal) and can_see_city(user, letter.city_id),
        draft=draft,
        approval_queue=letter_hooks.holds_for_review(session, campaign.id or 0),
        review_comment=letter_hooks.review_comment(session, letter),
        files=letter_files(session, letter, deliveries),
        mail_packet=paper,
        can_mark_mailed=paper is not None and can_see_city(user, letter.city_id),
    )


def letter_pdf(session: Session, letter_id: int, user: User, document: str | None = None) -> tuple[bytes, str]:
    """A stored PDF of the letter (``document``: a further document's group; the main one by default) and a
    download name; ``LetterNotFound`` until it is rendered."""
    from advocacy.letters.documents import letter_pdf as document_pdf

    return document_pdf(session, letter_id, user, document)


def city_letters(session: Session, user: User) -> list[Letter]:
    """The caller's city's letters, newest first (the API's list; records.search filters)."""
    city = official_city(session, user)
    return list(
        session.exec(
            select(Letter)
            .where(Letter.city_id == city.id)
            .order_by(col(Letter.created_at).desc(), col(Letter.id).desc())
            .limit(500)
        ).all()
    )


# --------------------------------------------------------------------------------------------------------------
# Enqueueing (after commit)


def enqueue_render(letter_id: int) -> None:
    from advocacy.letters import actors

    actors.render_letter.send(letter_id)


def enqueue_deliver(letter_id: int, delay_ms: int | None = None) -> None:
    from advocacy.letters import actors

    actors.send_deliver(letter_id, delay_ms)


def enqueue_signature_request(request_id: int) -> None:
    from advocacy.letters import actors

    actors.notify_signers.send(request_id)
