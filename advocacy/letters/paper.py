"""Letters on paper: a committee whose letter rule accepts only mail (DOMAIN.md §1.2) gets a mail delivery, a packet a
person prints and mails (the PDF and the committee's mailing address), and a "mark as mailed" with the day and who.

Like a portal delivery it waits for a person (``mail_pending`` → ``mailed``) and never holds up the letter's e-mail
status; the letter page shows it and the campaign's staff page counts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from advocacy.accounts import service as accounts
from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.db import utcnow
from advocacy.directory.models import Bill, Committee
from advocacy.letters.compose import california_date
from advocacy.letters.models import Channel, Delivery, DeliveryStatus, Letter
from advocacy.letters.recipients import LEGISLATURE_ADDRESS_LINES
from advocacy.letters.service import LetterError, LetterNotFound, _move, get_letter


@dataclass(frozen=True)
class MailPacket:
    """What a person needs to mail the letter to a committee that takes letters on paper."""

    deliveries: list[Delivery]  # the mail deliveries (one per committee)
    address_lines: list[str]  # the envelope: the committee, then the Legislature's street address
    subject: str
    bill: str
    stance: str
    document: str  # the letter document to print ("" for the main one)
    source_url: str  # where the committee publishes its letter rules (check the address there)
    mailed_by: dict[int, str]  # delivery id → who marked it as mailed
    today: date  # the latest day a person may say it was mailed (Pacific)


def mail_packet(
    session: Session, letter: Letter, deliveries: list[Delivery], campaign: Campaign, bill: Bill
) -> MailPacket | None:
    """The packet of a letter with a mail delivery (None for the others)."""
    mail = [d for d in deliveries if d.channel is Channel.MAIL]
    if not mail:
        return None
    committee = session.get(Committee, mail[0].committee_id) if mail[0].committee_id else None
    from advocacy.campaigns.letter_hooks import committee_channels

    rule = committee_channels(session, committee.id or 0) if committee is not None else None
    return MailPacket(
        deliveries=mail,
        address_lines=[mail[0].name, *LEGISLATURE_ADDRESS_LINES],
        subject=letter.subject,
        bill=bill.label,
        stance=campaign.position.value,
        document=mail[0].document,
        source_url=(rule.source_url if rule else "") or (committee.url if committee else ""),
        mailed_by={
            d.id or 0: user.name
            for d in mail
            if d.submitted_by_id and (user := session.get(User, d.submitted_by_id)) is not None
        },
        today=california_date(),
    )


def parse_mailed_on(raw: str, letter: Letter) -> date:
    """The day the packet was mailed, as typed (2026-03-16): not in the future, not before the letter was sent."""
    text = (raw or "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise LetterError("Enter the day the letter was mailed, like 2026-03-16.") from None
    today = california_date()
    if day > today:
        raise LetterError("The day the letter was mailed cannot be in the future.")
    earliest = california_date(letter.queued_at) if letter.queued_at else today
    if day < earliest:
        raise LetterError(
            f"The letter was sent for delivery on {earliest.isoformat()}; it cannot have been mailed before."
        )
    return day


def mark_mailed(
    session: Session, delivery_id: int, user: User, mailed_on: str, *, letter_id: int | None = None
) -> Delivery:
    """A person mailed the packet and records the day (staff or the city's officials). Bad input changes nothing;
    the same day again is a no-op, another day is refused. ``letter_id``: the letter the page showed."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or (letter_id is not None and delivery.letter_id != letter_id):
        raise LetterNotFound(f"no delivery {delivery_id}")
    letter = get_letter(session, delivery.letter_id, user)
    if delivery.channel is not Channel.MAIL:
        raise LetterError("Only a delivery by mail can be marked as mailed.")
    day = parse_mailed_on(mailed_on, letter)
    if delivery.status is DeliveryStatus.MAILED:
        if delivery.mailed_on == day:
            return delivery
        raise LetterError(
            f"Already marked as mailed on {delivery.mailed_on.isoformat() if delivery.mailed_on else '?'}."
        )
    if not letter.pdf_path:
        raise LetterError("The letter's PDF is not ready yet; print and mail it once it is.")
    _move(delivery, DeliveryStatus.MAILED)
    delivery.mailed_on = day
    delivery.submitted_by_id = user.id
    delivery.submitted_at = utcnow()
    session.add(delivery)
    accounts.record(session, user, "letter.mailed", f"delivery:{delivery.id}", {"mailed_on": day.isoformat()})
    session.commit()
    return delivery
