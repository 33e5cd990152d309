"""E-mails about letters to the people of the city: the signature request sent to the city's signers."""

from __future__ import annotations

import logging

from sqlmodel import Session

from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import bill_of
from advocacy.directory.models import City
from advocacy.letters.compose import official_name
from advocacy.letters.models import Letter, LetterStatus, SignatureRequest
from advocacy.letters.service import signers_of
from advocacy.mail import Address, Email, Mailer, MailError, Personalization, render_email
from advocacy.settings import get_settings

log = logging.getLogger("advocacy.letters")


def send_signature_request(session: Session, request_id: int, *, mailer: Mailer) -> bool:
    """E-mail the city's signers a link to review and send the draft; False when there is nothing to send.

    The link opens the letter page, whose GET changes nothing (mail scanners follow links): the signer reviews
    and presses Send there.
    """
    request = session.get(SignatureRequest, request_id)
    if request is None or request.notified:
        return False
    letter = session.get(Letter, request.letter_id)
    if letter is None or letter.status is not LetterStatus.DRAFT:
        return False
    campaign = session.get(Campaign, letter.campaign_id)
    city = session.get(City, letter.city_id)
    preparer = session.get(User, request.requested_by_id)
    signers = signers_of(session, letter.city_id)
    if campaign is None or city is None or preparer is None or not signers:
        return False
    settings = get_settings()
    subject, text, html = render_email(
        "signature_request",
        {
            "letter": letter,
            "campaign": campaign,
            "bill": bill_of(session, campaign),
            "preparer": preparer,
            "city_name": official_name(city),
            "link": f"{settings.base_url.rstrip('/')}/letters/{letter.id}",
            "deadline": campaign.deadline,
        },
    )
    email = Email(
        subject=subject,
        sender=Address(settings.mail_from, settings.mail_from_name),
        text=text,
        html=html,
        personalizations=[Personalization(to=[Address(s.email, s.name)]) for s in signers],
        reply_to=Address(preparer.email, preparer.name),
        categories=["signature-request"],
    )
    try:
        mailer.send(email)
    except MailError as exc:
        if exc.retryable:
            raise  # the actor retries with backoff
        log.error("signature request %s could not be e-mailed: %s", request_id, exc)
        return False
    request.notified = ", ".join(s.email for s in signers)[:1000]
    session.add(request)
    session.commit()
    return True
