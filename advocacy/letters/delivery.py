"""The worker steps of a letter: render its PDF, deliver its e-mails, and the sweep that nudges stuck letters.

Each step reads the letter's status and returns quietly when its work is done (at-least-once brokers redeliver),
and the letter's version column makes a step that lost a race to another worker roll back instead of moving twice.
Deliveries are marked ``sending`` and committed before the provider call, ``accepted`` with its message id after;
a crash in between leaves them ``sending`` and the sweep hands them to a new attempt once they are stale. In a
worker process the calls are made in a sender thread (``hand_off``, ``sender.py``) once the claim is committed.

Most letters are one document: one PDF, one provider call. A letter whose recipients include a target group with a
message variant of its own has a further document per such group (``LetterDocumentFile``), rendered in the same
step and committed with the main one; delivery then makes one call per document (attachments are per message),
each with its recipients and the copy for the city's records, and commits each document's outcome before the next
call, so a retry or a sweep nudge sends only the documents still waiting.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, or_, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import Stage
from advocacy.db import autocommit_connection, utcnow
from advocacy.directory.models import Bill, City, Committee, Legislator
from advocacy.letters.compose import (
    CopyLine,
    GroupDocument,
    build_document,
    california_date,
    city_seal,
    group_documents,
    is_regional_manager_of,
    official_name,
    pdf_filename,
    storage_path,
)
from advocacy.letters.document import LetterDocument, TemplateError, document_from_stored, render_letter_pdf
from advocacy.letters.documents import files_of
from advocacy.letters.models import (
    ACCEPTED_OR_LATER,
    IN_FLIGHT,
    Channel,
    Delivery,
    DeliveryStatus,
    Letter,
    LetterDocumentFile,
    LetterStatus,
)
from advocacy.letters.service import _move, check_move, enqueue_deliver, enqueue_render
from advocacy.mail import Address, Attachment, Email, Mailer, MailError, Personalization, render_email
from advocacy.settings import get_settings

log = logging.getLogger("advocacy.letters")

RECIPIENT_TOKEN = "-recipient-"  # noqa: S105  (replaced per personalization: SendGrid substitutions)


@dataclass
class Batch:
    """One provider call: the claimed deliveries of one document and the message that carries it."""

    document: str  # "" the main document, else its target group
    claim: list[Delivery]
    email: Email


@dataclass
class Sending:
    """A letter's claimed e-mails, committed ``sending``, with their messages: the provider calls still to make.

    What a step hands to a worker's sender threads (``sender.py``). The letter and deliveries are detached from the
    step's session; ``run`` takes them into the session of the thread that makes the calls."""

    letter: Letter
    deliveries: list[Delivery]
    batches: list[Batch]

    @property
    def letter_id(self) -> int:
        return self.letter.id or 0

    def run(self, session: Session, mailer: Mailer) -> None:
        """The provider calls, then the letter settles; raises ``RetryLater`` as ``render_letter`` does."""
        session.add(self.letter)  # persistent again, no query: its version is the one committed with the claim
        _send(session, self.letter, self.deliveries, self.batches, mailer)


HandOff = Callable[[Sending], None]


class RetryLater(Exception):
    """The provider asked us to try again; the actor re-enqueues the letter after ``delay_ms``."""

    def __init__(self, reason: str, delay_ms: int) -> None:
        super().__init__(reason)
        self.delay_ms = delay_ms


@dataclass(frozen=True)
class Loaded:
    """A letter's campaign, bill, city, stage and signer, read once per step.

    Held for the whole step on purpose: the session's identity map keeps unmodified objects only while something
    references them, so reading them again later in the step would query again.
    """

    letter: Letter
    campaign: Campaign
    bill: Bill
    city: City
    stage: Stage
    signer: User | None
    managers: list[User]  # the city's regional public affairs managers: in the cc block and copied


# The step's queries are built once, at import: building the statement objects for every letter cost the worker
# ~0.4 ms, and an alias made per call would get a new cache key, so SQLAlchemy would compile the query anew for every
# letter (measured: the step 0.9 ms slower instead of 0.35 ms faster).
_SIGNER = aliased(User, name="signer")
_MANAGER = aliased(User, name="manager")
# The letter and everything a step needs besides its deliveries, in ONE query: one row per regional manager of the
# city's division (one row when it has none), cheaper for a worker than a query for the letter, one for its context
# and one for the managers.
_LOAD = (
    sa_select(Letter, Campaign, Bill, City, Committee, _SIGNER, _MANAGER)
    .join(Campaign, col(Campaign.id) == Letter.campaign_id)
    .join(Bill, col(Bill.id) == Campaign.bill_id)
    .join(City, col(City.id) == Letter.city_id)
    .outerjoin(Committee, col(Committee.id) == Letter.committee_id)
    .outerjoin(_SIGNER, col(_SIGNER.id) == Letter.signer_id)
    .outerjoin(_MANAGER, is_regional_manager_of(_MANAGER, City.division_id))
    .where(col(Letter.id) == bindparam("letter_id"))
    .order_by(col(_MANAGER.id))
)
_DELIVERIES = (
    select(Delivery)
    .where(Delivery.letter_id == bindparam("letter_id"))
    .order_by(col(Delivery.sort_order), col(Delivery.id))
)


def _load(session: Session, letter_id: int) -> Loaded | None:
    """The letter with its campaign, bill, city, stage, signer and regional managers (None: no such letter)."""
    rows = session.execute(_LOAD, {"letter_id": letter_id}).all()
    if not rows:
        return None
    letter, campaign, bill, city, committee, signer, _ = rows[0]
    managers = [row[6] for row in rows if row[6] is not None]
    # The stage the letter was written for (not where the bill is now): it is addressed to that committee.
    stage = Stage(
        key=letter.stage,
        committee=committee,
        label=committee.full_name if committee else letter.stage.partition("@")[0],
    )
    return Loaded(letter, campaign, bill, city, stage, signer, managers)


def _context(session: Session, letter: Letter) -> Loaded:
    """``_load`` for a letter the step already holds."""
    loaded = _load(session, letter.id or 0)
    if loaded is None:
        raise LookupError(f"letter {letter.id} no longer exists")
    return loaded


def deliveries_of(session: Session, letter_id: int) -> list[Delivery]:
    return list(session.exec(_DELIVERIES, params={"letter_id": letter_id}).all())


def letter_document(
    session: Session, letter: Letter, deliveries: list[Delivery] | None = None, loaded: Loaded | None = None
) -> LetterDocument:
    """The letter's document as its signer sent it (stored when it was queued), with the city's seal of now.

    A letter queued before documents were stored (or stored in an older form) is composed from the data: its
    signer, note, stage and the recipients it was queued with."""
    if letter.document:
        city = loaded.city if loaded else session.get(City, letter.city_id)
        seal, seal_mimetype = city_seal(city) if city else (None, "image/png")
        stored = document_from_stored(letter.document, seal, seal_mimetype)
        if stored is not None:
            return stored
    loaded = loaded or _context(session, letter)
    copies = [
        CopyLine(key=d.recipient_key, name=d.name, reason=d.reason, cc_note=d.cc_note)
        for d in (deliveries if deliveries is not None else deliveries_of(session, letter.id or 0))
    ]
    return build_document(
        session,
        campaign=loaded.campaign,
        bill=loaded.bill,
        city=loaded.city,
        stage=loaded.stage,
        signer=loaded.signer,
        local_note=letter.local_note,
        copies=copies,
        letter_date=california_date(letter.queued_at),
        managers=loaded.managers,
    )


# --------------------------------------------------------------------------------------------------------------
# render_letter


def render_letter(
    session: Session, letter_id: int, *, mailer: Mailer | None = None, hand_off: HandOff | None = None
) -> bool:
    """Render and store the PDF of a queued letter and, given a mailer, deliver it in the same step.

    With a mailer (the worker), the claim of the letter's e-mail deliveries is committed together with the
    rendering, then the provider is called once: a message, a commit and the re-reads of a separate
    ``deliver_letter`` step fewer per letter (docs/benchmarks.md). A crash after that commit leaves the deliveries
    ``sending``, which the sweep hands to ``deliver_letter`` once they are stale, exactly as a crash inside
    ``deliver_letter`` does. ``hand_off`` takes the provider calls elsewhere (a worker's sender threads) instead of
    making them here. Returns True when ``deliver_letter`` is still due (no mailer was given); raises
    ``RetryLater`` when the provider asked to try again.
    """
    loaded = _load(session, letter_id)
    if loaded is None or loaded.letter.status is not LetterStatus.QUEUED:
        return False
    letter = loaded.letter
    deliveries = deliveries_of(session, letter_id)
    try:
        main = letter_document(session, letter, deliveries, loaded)
        pdf = render_letter_pdf(main)
        # The common letter has no further document: no query, no rendering here.
        extras = [
            (item, render_letter_pdf(item.document)) for item in _group_documents(session, deliveries, loaded, main)
        ]
    except (TemplateError, ValueError) as exc:  # the template or the seal is broken: retrying cannot help
        _fail_letter(session, letter, f"The letter could not be rendered: {exc}")
        return False
    digest = hashlib.sha256(pdf).hexdigest()
    # One file per rendering: a worker that loses the race below never overwrites the winner's file.
    relative = f"letters/{letter.city_id}/{letter.id}-{digest[:16]}.pdf"
    _write_atomically(relative, pdf)
    files = [_store_document(letter, item, data) for item, data in extras]
    now = utcnow()
    claim = _claimable(deliveries, now) if mailer is not None else []
    # Built before the claim: an error here (a template, a stored file) leaves the letter queued for the retry.
    pdfs = {"": pdf, **{item.group: data for item, data in extras}}
    batches = _batches(session, letter, claim, deliveries, pdfs, loaded) if claim else []
    check_move(letter, LetterStatus.RENDERED)
    rendered = {
        "status": LetterStatus.RENDERED,
        "status_changed_at": now,
        "pdf_path": relative,
        "pdf_sha256": digest,
        # The version the PDF was made from (staff may have changed the campaign's variants since the draft).
        "template_version_id": main.template_version_id,
        "rendered_at": now,
    }
    session.add_all(files)
    try:
        _claim(session, letter, claim, now, **rendered)
        session.commit()
    except (StaleDataError, IntegrityError):
        # Another worker rendered it first; its files stay (they may be these very files).
        session.rollback()
        session.refresh(letter)
        kept = {letter.pdf_path, *(f.pdf_path for f in files_of(session, letter_id))}
        for path in [relative, *(f.pdf_path for f in files)]:
            if path not in kept:
                storage_path(path).unlink(missing_ok=True)
        return False
    if mailer is None:
        return True
    if not batches:  # nothing to e-mail (portal or mail deliveries only): the letter settles now
        _settle(session, letter, deliveries)
        return False
    _send_or_hand_off(session, Sending(letter, deliveries, batches), mailer, hand_off)
    return False


def _send_or_hand_off(session: Session, sending: Sending, mailer: Mailer, hand_off: HandOff | None) -> None:
    if hand_off is None:
        sending.run(session, mailer)
        return
    # The step is over for this session: what it loaded leaves with it, and the letter and its deliveries go on in
    # the session of the thread that makes the calls (an object belongs to one session, and sessions to one thread).
    session.expunge_all()
    hand_off(sending)


def _group_documents(
    session: Session, deliveries: list[Delivery], loaded: Loaded, main: LetterDocument
) -> list[GroupDocument]:
    """The further documents the letter's deliveries call for (their groups were set when it was queued)."""
    if not any(d.document for d in deliveries):
        return []
    ids = [d.legislator_id for d in deliveries if d.document and d.legislator_id]
    people = {m.id: m for m in session.exec(select(Legislator).where(col(Legislator.id).in_(ids))).all()} if ids else {}
    members: dict[str, list[tuple[str, Legislator | None]]] = {}
    for d in deliveries:
        if d.document:
            members.setdefault(d.document, []).append((d.name, people.get(d.legislator_id)))
    return group_documents(session, main, members, campaign=loaded.campaign, city=loaded.city, stage=loaded.stage)


def _store_document(letter: Letter, item: GroupDocument, pdf: bytes) -> LetterDocumentFile:
    digest = hashlib.sha256(pdf).hexdigest()
    relative = f"letters/{letter.city_id}/{letter.id}-{item.group}-{digest[:16]}.pdf"
    _write_atomically(relative, pdf)
    return LetterDocumentFile(
        letter_id=letter.id or 0,
        target_group=item.group,
        template_version_id=item.template_version_id,
        pdf_path=relative,
        pdf_sha256=digest,
    )


def _write_atomically(relative: str, data: bytes) -> None:
    path = storage_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _fail_letter(session: Session, letter: Letter, reason: str) -> None:
    for delivery in deliveries_of(session, letter.id or 0):
        if delivery.status is DeliveryStatus.PENDING:
            _move(delivery, DeliveryStatus.FAILED)
            delivery.error = "Not sent: " + reason
            session.add(delivery)
    letter.error = reason
    _move(letter, LetterStatus.FAILED)
    session.add(letter)
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        return
    alert_staff(session, letter, reason)


# --------------------------------------------------------------------------------------------------------------
# deliver_letter


def deliver_letter(session: Session, letter_id: int, *, mailer: Mailer, hand_off: HandOff | None = None) -> None:
    """Send every e-mail delivery not yet accepted, in ONE provider call per document, then settle the letter.

    The step for retries and sweep nudges (``render_letter`` delivers a fresh letter itself). ``hand_off`` as in
    ``render_letter``. Raises ``RetryLater`` when the provider asks to try again and attempts remain.
    """
    letter = session.get(Letter, letter_id)
    if letter is None or letter.status is not LetterStatus.RENDERED:
        return
    now = utcnow()
    if letter.next_step_at and letter.next_step_at > now + timedelta(seconds=1):
        return  # an early nudge during a backoff: the delayed retry message is on its way
    deliveries = deliveries_of(session, letter_id)
    claim = _claimable(deliveries, now)
    if not claim:
        if not any(d.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING) for d in deliveries):
            _settle(session, letter, deliveries)
        return
    # Built before the claim: a failure here leaves them pending.
    batches = _batches(session, letter, claim, deliveries)
    try:
        _claim(session, letter, claim, now)
        session.commit()
    except StaleDataError:
        session.rollback()  # another worker claimed this letter's deliveries first
        return
    _send_or_hand_off(session, Sending(letter, deliveries, batches), mailer, hand_off)


def _batches(
    session: Session,
    letter: Letter,
    claim: list[Delivery],
    deliveries: list[Delivery],
    pdfs: dict[str, bytes] | None = None,
    loaded: Loaded | None = None,
) -> list[Batch]:
    """One message per document among the claimed deliveries (of the letter's ``deliveries``): the main document
    first. ``pdfs`` holds documents just rendered (by group, "" for the main one); the others are read from
    storage."""
    pdfs = pdfs or {}
    groups = list(dict.fromkeys(d.document for d in sorted(claim, key=lambda d: d.document != "")))
    if groups == [""]:  # the common letter: one document, read as before
        return [Batch("", claim, letter_email(session, letter, claim, pdf=pdfs.get(""), loaded=loaded))]
    loaded = loaded or _context(session, letter)
    stored = {f.target_group: f for f in files_of(session, letter.id or 0)} if set(groups) - set(pdfs) else {}
    batches = []
    for group in groups:
        pdf = pdfs.get(group)
        if pdf is None and group:
            if group not in stored:
                raise RuntimeError(f"letter {letter.id} has no stored document for {group!r}")
            pdf = storage_path(stored[group].pdf_path).read_bytes()
        mine = [d for d in claim if d.document == group]
        addressed = [d.name for d in deliveries if d.document == group] if group else []
        email = letter_email(session, letter, mine, pdf=pdf, loaded=loaded, document=group, addressed=addressed)
        batches.append(Batch(group, mine, email))
    return batches


def _claimable(deliveries: list[Delivery], now: datetime) -> list[Delivery]:
    """E-mail deliveries to send now: pending ones, and claims of a worker that died mid-call (stale ``sending``)."""
    stale = now - timedelta(seconds=get_settings().letter_stuck_seconds)
    return [
        d
        for d in deliveries
        if d.channel is Channel.EMAIL
        and (d.status is DeliveryStatus.PENDING or (d.status is DeliveryStatus.SENDING and d.status_changed_at < stale))
    ]


def _claim(session: Session, letter: Letter, claim: list[Delivery], now: datetime, **values: Any) -> None:
    """Write the letter's step (``values``: its new columns) and mark the ``claim`` deliveries ``sending``; the
    caller commits this before the provider call.

    The letter's UPDATE checks the version the step read, so a worker that lost the race to another one stops right
    here (``StaleDataError``) without touching a delivery. On PostgreSQL the letter and its claimed deliveries are
    ONE statement; elsewhere two. Written as statements, not through the ORM's flush: the flush of the letter cost a
    worker more CPU per letter than the rest of its claim (docs/benchmarks.md)."""
    columns = {"next_step_at": now, **values}
    if claim:
        columns["send_attempts"] = letter.send_attempts + len({d.document for d in claim})  # a call per document
    letter_params = _letter_params(letter, columns)
    stale = StaleDataError(f"letter {letter.id} moved on since version {letter.version} was read")
    connection = session.connection()
    # A stale claim of a worker that died mid-call is taken over: still sending, its time renewed.
    if claim and connection.dialect.name == "postgresql":
        moved, params = _checked_moves(claim, DeliveryStatus.SENDING, now, {})
        statement = _letter_and_claim_statement(tuple(columns), tuple(moved))
        if connection.execute(statement, {**params, **letter_params}).rowcount != len(claim):
            raise stale
        _moved(claim, moved, count_attempt=True)
    else:
        if connection.execute(_letter_statement(tuple(columns)), letter_params).rowcount != 1:
            raise stale
        if claim:
            move_deliveries(connection, claim, DeliveryStatus.SENDING, now, count_attempt=True)
    # The letter takes the values written, as if read back (the deliveries did above): nothing is left to flush.
    _letter_written(letter, columns)


_DELIVERY_TABLE = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel declares it at class creation
_LETTER_TABLE = Letter.__table__  # type: ignore[attr-defined]


def move_deliveries(
    session: Session | Connection,
    deliveries: list[Delivery],
    to: DeliveryStatus,
    now: datetime,
    *,
    count_attempt: bool = False,
    **values: Any,
) -> None:
    """Move a letter's deliveries to ``to`` (and set ``values``) in ONE UPDATE, each move checked against the state
    table first as ``_move`` does; a stale ``sending`` claim taken over stays ``sending`` with its time renewed.

    Why not the ORM: its flush writes a dozen changed deliveries one statement per row, twice per letter, and its
    bookkeeping for them was the largest part of the worker's commits (docs/benchmarks.md). The loaded objects get
    the new values as if read back from the database, so the session never writes them a second time. Given a
    connection instead of a session (``db.autocommit_connection``), the UPDATE runs there."""
    columns, params = _checked_moves(deliveries, to, now, values)
    connection = session.connection() if isinstance(session, Session) else session
    connection.execute(_moves_statement(tuple(columns), count_attempt), params)
    _moved(deliveries, columns, count_attempt)


def _checked_moves(
    deliveries: list[Delivery], to: DeliveryStatus, now: datetime, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns ``move_deliveries`` sets and the parameters of its UPDATE, once every move is checked."""
    for delivery in deliveries:
        renewed_claim = delivery.status is DeliveryStatus.SENDING and to is DeliveryStatus.SENDING
        if not renewed_claim:
            check_move(delivery, to)
    columns = {"status": to, "status_changed_at": now, **values}
    params = {f"new_{name}": value for name, value in columns.items()}
    return columns, {"ids": [d.id for d in deliveries], **params}


def _moved(deliveries: list[Delivery], columns: dict[str, Any], count_attempt: bool) -> None:
    """The loaded deliveries take the values their UPDATE wrote, as if read back."""
    for delivery in deliveries:
        for name, value in columns.items():
            set_committed_value(delivery, name, value)
        if count_attempt:
            set_committed_value(delivery, "attempts", delivery.attempts + 1)


@cache
def _moves_statement(columns: tuple[str, ...], count_attempt: bool) -> Any:
    """``move_deliveries``' UPDATE for these columns, built once: building it for every call cost ~0.5 ms of CPU."""
    table = _DELIVERY_TABLE
    assignments: dict[str, Any] = {name: bindparam(f"new_{name}") for name in columns}
    if count_attempt:
        assignments["attempts"] = table.c.attempts + 1
    return sa_update(table).where(table.c.id.in_(bindparam("ids", expanding=True))).values(**assignments)


@cache
def _letter_statement(columns: tuple[str, ...]) -> Any:
    """The letter's UPDATE of these columns, checked against the version the step read (as the ORM's would be),
    built once. Its parameters (``_letter_params``) are named after no column of ``delivery``: SQLAlchemy would take
    such a name, given to a statement that also updates deliveries, for a value to SET in their UPDATE."""
    table = _LETTER_TABLE
    return (
        sa_update(table)
        .where(table.c.id == bindparam("written_letter"), table.c.version == bindparam("held_version"))
        .values(**{name: bindparam(f"letter_{name}") for name in columns}, version=table.c.version + 1)
    )


def _letter_params(letter: Letter, columns: dict[str, Any]) -> dict[str, Any]:
    """``_letter_statement``'s parameters: ``columns`` written to ``letter`` at the version it holds."""
    return {
        "written_letter": letter.id,
        "held_version": letter.version,
        **{f"letter_{name}": value for name, value in columns.items()},
    }


def _letter_written(letter: Letter, columns: dict[str, Any]) -> None:
    """The loaded letter takes the values its UPDATE wrote, and the next version, as if read back."""
    for name, value in columns.items():
        set_committed_value(letter, name, value)
    set_committed_value(letter, "version", letter.version + 1)


@cache
def _letter_and_claim_statement(letter_columns: tuple[str, ...], delivery_columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the letter's versioned UPDATE in a ``WITH`` and the claimed deliveries' UPDATE gated on it, so
    a letter whose version moved claims no delivery (the statement's row count tells)."""
    written = _letter_statement(letter_columns).returning(_LETTER_TABLE.c.id).cte("letter_update")
    gate = _DELIVERY_TABLE.c.letter_id.in_(sa_select(written.c.id))
    return _moves_statement(delivery_columns, True).where(gate)


def _send(session: Session, letter: Letter, deliveries: list[Delivery], batches: list[Batch], mailer: Mailer) -> None:
    """The provider call of each document's claimed deliveries, then the letter settles (or waits for a retry).

    Each document's outcome is committed before the next document's call: a crash or a retry then repeats only
    what was not yet accepted."""
    retry: RetryLater | None = None
    refused: list[str] = []
    for index, batch in enumerate(batches):
        try:
            message_id = mailer.send(batch.email)
        except MailError as exc:
            delay = _after_failure(session, letter, batch.claim, exc)
            if delay is None:
                refused.append(letter.error)
            elif retry is None or delay > retry.delay_ms:
                retry = RetryLater(exc.reason, delay)
        else:
            all_sent = index == len(batches) - 1 and retry is None and not refused
            _record_accepted(letter, deliveries, batch.claim, message_id, settle=all_sent)
        if index < len(batches) - 1:
            session.commit()
    if retry is not None:
        letter.next_step_at = utcnow() + timedelta(milliseconds=retry.delay_ms)
        session.add(letter)
        session.commit()
    elif refused:
        _settle(session, letter, deliveries)  # with the failed deliveries and the reason, in one transaction
    for reason in refused:
        alert_staff(session, letter, reason)
    if retry is not None:
        raise retry


def backoff_ms(attempt: int, retry_after: float | None) -> int:
    """Exponential backoff from the settings, never shorter than the provider's Retry-After."""
    settings = get_settings()
    delay = min(settings.letter_retry_max_backoff_ms, settings.letter_retry_min_backoff_ms * 2 ** max(0, attempt - 1))
    if retry_after is not None:
        delay = max(delay, int(retry_after * 1000) + 1)
    return int(delay)


def _after_failure(session: Session, letter: Letter, claim: list[Delivery], exc: MailError) -> int | None:
    """Record a failed call for one document's deliveries (the caller commits): back to pending with the backoff
    delay returned while attempts remain, else failed for good (None; ``letter.error`` holds the reason)."""
    # The calls made for this document (each document's message is attempted on its own).
    attempts = max(d.attempts for d in claim)
    if exc.retryable and attempts < get_settings().letter_max_send_attempts:
        delay = backoff_ms(attempts, exc.retry_after)
        for delivery in claim:
            _move(delivery, DeliveryStatus.PENDING)
            delivery.error = f"Attempt {attempts}: {exc.reason}. Trying again in {delay / 1000:.0f} s."
            session.add(delivery)
        return delay
    reason = exc.reason if not exc.retryable else f"Gave up after {attempts} attempts: {exc.reason}"
    for delivery in claim:
        _move(delivery, DeliveryStatus.FAILED)
        delivery.error = reason
        session.add(delivery)
    letter.error = reason
    session.add(letter)
    return None


def _outcome(deliveries: list[Delivery], accepted_now: Sequence[Delivery] = ()) -> LetterStatus | None:
    """Sent, partially sent or failed, by the letter's e-mail deliveries (those in ``accepted_now`` counted as
    accepted); None while one of them still waits."""
    accepted_ids = {d.id for d in accepted_now}
    statuses = [
        DeliveryStatus.ACCEPTED if d.id in accepted_ids else d.status for d in deliveries if d.channel is Channel.EMAIL
    ]
    if any(status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING) for status in statuses):
        return None
    accepted = sum(status in ACCEPTED_OR_LATER for status in statuses)
    failed = len(statuses) - accepted
    if accepted and failed:
        return LetterStatus.PARTIALLY_SENT
    return LetterStatus.FAILED if failed else LetterStatus.SENT


def _settle(session: Session, letter: Letter, deliveries: list[Delivery]) -> None:
    """Sent, partially sent or failed once no e-mail delivery waits; commits."""
    outcome = _outcome(deliveries)
    if outcome is None:
        session.commit()
        return
    _move(letter, outcome)
    letter.sent_at = utcnow() if outcome is not LetterStatus.FAILED else None
    letter.next_step_at = None
    session.add(letter)
    session.commit()


# The letter's settling UPDATE, checked against the version the step holds.
_SETTLE = _letter_statement(("status", "status_changed_at", "sent_at", "next_step_at"))
_ACCEPTED_COLUMNS = ("status", "status_changed_at", "message_id", "error")
# PostgreSQL: the accepted call's record and the letter's settling in ONE statement (a data-modifying WITH runs to
# completion whether or not the letter's UPDATE finds its version), so one round trip and one commit to disk.
_ACCEPT_AND_SETTLE = _SETTLE.add_cte(
    _moves_statement(_ACCEPTED_COLUMNS, False).returning(_DELIVERY_TABLE.c.id).cte("accepted")
)


def _record_accepted(
    letter: Letter, deliveries: list[Delivery], claim: list[Delivery], message_id: str, *, settle: bool
) -> None:
    """Record an accepted call for ``claim`` at once, in autocommit: from here on a killed worker leaves these
    deliveries accepted, and nothing sends them again. With ``settle`` (the letter's last call, all accepted) the
    letter settles too, in the same statement on PostgreSQL, right after it elsewhere.

    The letter's UPDATE is checked against the version the step holds. If the letter moved since the step read it
    (another worker's sweep nudge after a stall), nothing is lost: the deliveries are recorded, and the sweep finds
    none left to send and settles the letter."""
    now = utcnow()
    columns, params = _checked_moves(claim, DeliveryStatus.ACCEPTED, now, {"message_id": message_id, "error": ""})
    outcome = _outcome(deliveries, accepted_now=claim) if settle else None
    if outcome is not None:
        check_move(letter, outcome)
    settled_columns = {
        "status": outcome,
        "status_changed_at": now,
        "sent_at": now if outcome is not LetterStatus.FAILED else None,
        "next_step_at": None,
    }
    settling = _letter_params(letter, settled_columns)
    with autocommit_connection() as connection:
        if outcome is not None and connection.dialect.name == "postgresql":
            settled = connection.execute(_ACCEPT_AND_SETTLE, {**params, **settling}).rowcount
        else:
            connection.execute(_moves_statement(_ACCEPTED_COLUMNS, False), params)
            settled = connection.execute(_SETTLE, settling).rowcount if outcome else 0
    _moved(claim, columns, count_attempt=False)
    if outcome is None:
        return
    if settled != 1:
        log.warning("letter %s changed while its e-mails were sent; the sweep settles it", letter.id)
        return
    _letter_written(letter, settled_columns)


def sender_name(signer: User | None, city: City) -> str:
    """ "Mayor Jane Doe, City of X (via Cal Cities)": the league's address, never the official's (DOMAIN.md §7)."""
    who = " ".join(part for part in ((signer.title if signer else ""), (signer.name if signer else "")) if part)
    return f"{who or 'The'}, {official_name(city)} (via {get_settings().league_short_name})"


def letter_email(
    session: Session,
    letter: Letter,
    claim: list[Delivery],
    *,
    pdf: bytes | None = None,
    loaded: Loaded | None = None,
    document: str = "",
    addressed: list[str] | None = None,
) -> Email:
    """One message: a personalization per recipient (custom args name letter and delivery), one for the copies.

    ``document`` names a further document (its target group; "" for the main one): ``pdf`` is then that
    document's, and the message says whom it is addressed to (``addressed``: its recipients' names)."""
    settings = get_settings()
    loaded = loaded or _context(session, letter)
    bill = loaded.bill
    signer = loaded.signer
    subject, text, html = render_email(
        "letter_copy",
        {
            "letter": letter,
            "campaign": loaded.campaign,
            "bill": bill,
            "city_name": official_name(loaded.city),
            "signer": signer,
            "recipient": RECIPIENT_TOKEN,
            "committee": loaded.stage.committee,
            "addressed_to": _addressed_to(addressed or []),
        },
    )
    extra_args = {"document": document} if document else {}
    personalizations = [
        Personalization(
            to=[Address(d.email, d.name)],
            substitutions={RECIPIENT_TOKEN: d.name},
            custom_args={"letter_id": str(letter.id), "delivery_id": str(d.id), **extra_args},
        )
        for d in claim
    ]
    copies = [Address(settings.league_copy_address, settings.mail_from_name)]
    copies += [Address(m.email, m.name) for m in loaded.managers]
    copy_to = Address(signer.email, signer.name) if signer else copies.pop(0)
    personalizations.append(
        Personalization(
            to=[copy_to],
            cc=copies,
            substitutions={RECIPIENT_TOKEN: "Copy for the city's records"},
            custom_args={"letter_id": str(letter.id), "copy": "1", **extra_args},
        )
    )
    if pdf is None:
        pdf = storage_path(letter.pdf_path or "").read_bytes()
    return Email(
        subject=letter.subject or subject,
        sender=Address(settings.mail_from, sender_name(signer, loaded.city)),
        text=text,
        html=html,
        personalizations=personalizations,
        reply_to=Address(signer.email, signer.name) if signer else None,
        attachments=[Attachment(pdf_filename(bill, loaded.city, loaded.campaign, document), pdf)],
        categories=["position-letter"],
    )


def _addressed_to(names: list[str]) -> str:
    if len(names) > 4:
        return f"{', '.join(names[:3])} and {len(names) - 3} other legislators"
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else (names[0] if names else "")


# --------------------------------------------------------------------------------------------------------------
# Staff alerts


def staff_addresses(session: Session) -> list[Address]:
    settings = get_settings()
    if settings.staff_alert_address:
        return [Address(settings.staff_alert_address)]
    staff = session.exec(
        select(User)
        .where(col(User.role).in_([Role.STAFF, Role.ADMIN]), col(User.active).is_(True))
        .order_by(col(User.id))
    ).all()
    return [Address(user.email, user.name) for user in staff]


def alert_staff(session: Session, letter: Letter, reason: str, delivery: Delivery | None = None) -> None:
    """Tell league staff a letter (or one recipient) failed; an alert that cannot be sent is logged, not retried."""
    from advocacy.mail import get_mailer

    recipients = staff_addresses(session)
    if not recipients:
        log.error("letter %s failed and no staff address is configured: %s", letter.id, reason)
        return
    city = session.get(City, letter.city_id)
    subject, text, html = render_email(
        "delivery_failed",
        {
            "letter": letter,
            "delivery": delivery,
            "reason": reason,
            "city_name": official_name(city) if city else "",
            "link": f"{get_settings().base_url.rstrip('/')}/letters/{letter.id}",
        },
    )
    settings = get_settings()
    email = Email(
        subject=subject,
        sender=Address(settings.mail_from, settings.mail_from_name),
        text=text,
        html=html,
        personalizations=[Personalization(to=[address]) for address in recipients],
        categories=["staff-alert"],
    )
    try:
        get_mailer().send(email)
    except MailError as exc:
        log.error("could not alert staff about letter %s (%s): %s", letter.id, reason, exc)


# --------------------------------------------------------------------------------------------------------------
# The sweep


def stuck_letters(session: Session) -> list[Letter]:
    """In-flight letters whose next step is overdue by more than ``letter_stuck_seconds``."""
    cutoff = utcnow() - timedelta(seconds=get_settings().letter_stuck_seconds)
    return list(
        session.exec(
            select(Letter)
            .where(
                col(Letter.status).in_(IN_FLIGHT),
                or_(col(Letter.next_step_at) < cutoff, col(Letter.next_step_at).is_(None)),
            )
            .order_by(col(Letter.id))
            .limit(500)
        ).all()
    )


def sweep_letters(session: Session) -> int:
    """Re-send the nudge for every stuck letter: render for ``queued``, deliver for ``rendered`` (incl. stale
    ``sending`` deliveries, which deliver_letter takes over). Returns how many nudges were sent."""
    nudged = 0
    for letter in stuck_letters(session):
        if letter.status is LetterStatus.QUEUED:
            enqueue_render(letter.id or 0)
        else:
            enqueue_deliver(letter.id or 0)
        nudged += 1
    if nudged:
        log.warning("sweep: nudged %d stuck letter(s)", nudged)
    return nudged
