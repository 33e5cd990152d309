"""The receipt PDF and the e-mails CitiPAC sends (receipts, information requests, §84105 notices).

Every piece says who paid for it: receipts always, other mail once it becomes a mass mailing (more than 200
substantially similar e-mails in a calendar month, §84305). PAC mail goes out on CitiPAC's own sender, never in an
official's or a city's name (DOMAIN.md §4.9, §7).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import jinja2

from advocacy import TEMPLATES_DIR
from advocacy.citipac import rules
from advocacy.citipac.config import get_citipac_settings
from advocacy.citipac.models import Contributor, LedgerEntry, MessageKind
from advocacy.citipac.rules import ContributorKind
from advocacy.citipac.service import MessageParts
from advocacy.mail import Address, Attachment, Email, Personalization, render_email
from advocacy.pdf import render_pdf


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), undefined=jinja2.StrictUndefined, autoescape=True
    )


def paid_for_line() -> str:
    settings = get_citipac_settings()
    line = f"Paid for by {settings.committee_name}"
    return f"{line} (ID {settings.committee_id})" if settings.committee_id else line


def receipt_context(
    entry: LedgerEntry,
    contributor: Contributor,
    year_total_cents: int,
    *,
    missing: tuple[str, ...] = (),
    today: date | None = None,
) -> dict[str, Any]:
    settings = get_citipac_settings()
    clock = rules.info_clock(entry.received_on, today or entry.received_on) if missing and entry.info_required else None
    return {
        "committee_name": settings.committee_name,
        "committee_id": settings.committee_id,
        "mailing_address": settings.mailing_address,
        "paid_for": paid_for_line(),
        "public_funds": rules.PUBLIC_FUNDS,
        "entry": entry,
        "tran_id": entry.tran_id,
        "contributor": contributor,
        "is_individual": contributor.kind is ContributorKind.INDIVIDUAL,
        "amount": rules.dollars(entry.amount_cents),
        "year": entry.received_on.year,
        "year_total": rules.dollars(year_total_cents),
        "method": entry.method.label,
        "missing": list(missing),
        "due_on": clock.due_on if clock else None,
        "format_date": lambda d: d.strftime("%B %-d, %Y") if d else "",
    }


def receipt_html(context: dict[str, Any]) -> str:
    return _environment().get_template("citipac/receipt.html").render(context)


def receipt_pdf(
    entry: LedgerEntry, contributor: Contributor, year_total_cents: int, *, missing: tuple[str, ...] = ()
) -> bytes:
    context = receipt_context(entry, contributor, year_total_cents, missing=missing)
    return render_pdf(receipt_html(context), title=f"{context['committee_name']} receipt {entry.tran_id}", lang="en")


def build_email(parts: MessageParts) -> Email:
    """The e-mail for one ``CitipacMessage`` (the receipt PDF attached to receipts)."""
    settings = get_citipac_settings()
    message, contributor, entry = parts.message, parts.contributor, parts.entry
    context: dict[str, Any] = {
        "committee_name": settings.committee_name,
        "contributor_name": contributor.display_name,
        "paid_for": paid_for_line() if parts.paid_for else "",
        "public_funds": rules.PUBLIC_FUNDS,
        "missing": list(parts.missing),
        "year_total": rules.dollars(parts.year_total_cents),
        "mailing_address": settings.mailing_address,
        "tran_id": entry.tran_id if entry else "",
        "amount": rules.dollars(entry.amount_cents) if entry else "",
        "received_on": entry.received_on.strftime("%B %-d, %Y") if entry else "",
        "year": entry.received_on.year if entry else "",
        "due_on": parts.clock.due_on.strftime("%B %-d, %Y") if parts.clock else "",
        "is_individual": contributor.kind is ContributorKind.INDIVIDUAL,
    }
    attachments: list[Attachment] = []
    if message.kind is MessageKind.RECEIPT:
        assert entry is not None
        pdf = receipt_pdf(
            entry, contributor, parts.year_total_cents, missing=parts.missing if entry.info_required else ()
        )
        attachments.append(Attachment(filename=f"citipac-receipt-{entry.tran_id}.pdf", content=pdf))
        template = "citipac_receipt"
    elif message.kind is MessageKind.INFO_REQUEST:
        template = "citipac_info_request"
    else:
        template = "citipac_notice_84105"
    subject, text, html = render_email(template, context)
    return Email(
        subject=subject,
        sender=Address(settings.mail_from, settings.mail_from_name),
        text=text,
        html=html,
        reply_to=Address(settings.mail_from, settings.mail_from_name),
        personalizations=[
            Personalization(
                to=[Address(message.to_email, contributor.display_name)],
                custom_args={"citipac_message": str(message.id)},
            )
        ],
        attachments=attachments,
        categories=["citipac", message.kind.value],
    )
