"""The optional approval queue: in a campaign that has it on, a signer's Send holds the letter for staff review
before delivery (as the league's own 2014 tool did, DOMAIN.md §1.9).

The held letter is in ``awaiting_approval`` (``letters.models.LETTER_MOVES``), with a ``LetterReview`` beside it
that keeps who asked, the note they signed, and staff's decision. The letters package owns every move of the letter:
its ``send_letter`` holds instead of queueing when ``letter_hooks.holds_for_review`` says so and calls
``record_hold`` here; staff's decisions go through its ``release_held`` (approved: queued for rendering and delivery
as if the signer had pressed Send just then) and ``return_held`` (returned with a comment the signer sees on the
action page and the letter page: a draft again, which they edit and send again). When the bill moves on, held
letters of the past stage are superseded (``campaigns.stale``) and ``close_superseded`` closes their reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select as sa_select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import User
from advocacy.campaigns.alerts import plan_of
from advocacy.campaigns.console_models import LetterReview, ReviewStatus
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import bill_of
from advocacy.db import after_commit, utcnow
from advocacy.directory.models import City
from advocacy.letters.models import Letter, LetterStatus
from advocacy.mail import Address, Email, Mailer, Personalization, render_email
from advocacy.settings import get_settings

COMMENT_MAX = 2_000


class ReviewError(ValueError):
    """A review action that cannot be done; nothing was changed."""


@dataclass(frozen=True)
class ReviewRow:
    review: LetterReview
    letter: Letter
    campaign: Campaign
    city: City
    signer: User


def requires_approval(session: Session, campaign_id: int) -> bool:
    plan = plan_of(session, campaign_id)
    return bool(plan and plan.requires_approval)


def review_of(session: Session, letter_id: int) -> LetterReview | None:
    return session.exec(select(LetterReview).where(LetterReview.letter_id == letter_id)).first()


def submit_for_review(session: Session, campaign_id: int, signer: User, local_note: str | None = None) -> Letter:
    """A signer's Send in a campaign with the approval queue (the action page's Send does the same): the letter is
    written and held, not queued; a second press, a second signer or a replay finds the same letter."""
    from advocacy.letters import service as letters

    if not requires_approval(session, campaign_id):
        raise ReviewError("This campaign has no approval queue: letters are sent at once.")
    return letters.send_letter(session, campaign_id, signer, local_note)


def record_hold(session: Session, letter: Letter, signer: User) -> LetterReview:
    """The review of a letter just held (``letters.service`` calls this through ``letter_hooks``, and commits)."""
    review = review_of(session, letter.id or 0) or LetterReview(
        letter_id=letter.id or 0, campaign_id=letter.campaign_id, signer_id=signer.id or 0
    )
    review.status, review.signer_id, review.local_note = ReviewStatus.PENDING, signer.id or 0, letter.local_note
    review.submitted_at, review.decided_at, review.reviewer_id = utcnow(), None, None
    session.add(review)
    return review


def returned_comment(session: Session, letter: Letter) -> str:
    """Staff's comment on a letter they returned, while it is a draft again (what its signer reads)."""
    if letter.status is not LetterStatus.DRAFT or letter.id is None:
        return ""
    review = review_of(session, letter.id)
    return review.comment if review is not None and review.status == ReviewStatus.RETURNED else ""


def _pending(session: Session, review_id: int) -> tuple[LetterReview, Letter]:
    review = session.get(LetterReview, review_id)
    if review is None:
        raise ReviewError(f"There is no review {review_id}.")
    letter = session.get(Letter, review.letter_id)
    assert letter is not None
    if review.status != ReviewStatus.PENDING or letter.status is not LetterStatus.AWAITING_APPROVAL:
        raise ReviewError(f"This letter was already {review.status}.")
    return review, letter


def approve(session: Session, review_id: int, reviewer: User) -> Letter:
    """Staff approve: the letter is queued for rendering and delivery as its signer. Commits."""
    from advocacy.letters import service as letters

    review, letter = _pending(session, review_id)
    try:
        letters.release_held(session, letter.id or 0)
        review.status, review.reviewer_id, review.decided_at = ReviewStatus.APPROVED, reviewer.id, utcnow()
        session.add(review)
        accounts.record(session, reviewer, "letter.approve", f"letter:{letter.id}")
        session.commit()  # render_letter is enqueued after this commit
    except StaleDataError:
        session.rollback()
        raise ReviewError("Another member of staff decided on this letter a moment ago.") from None
    return letter


def return_letter(session: Session, review_id: int, reviewer: User, comment: str) -> LetterReview:
    """Staff return the letter with a comment the signer sees; it is a draft again. Commits."""
    from advocacy.letters import service as letters

    comment = comment.strip()
    if not comment:
        raise ReviewError("Say what the signer should change: the comment is what they will see.")
    if len(comment) > COMMENT_MAX:
        raise ReviewError(f"The comment takes at most {COMMENT_MAX:,} characters.")
    review, letter = _pending(session, review_id)
    try:
        letters.return_held(session, letter.id or 0)
        review.status, review.comment = ReviewStatus.RETURNED, comment
        review.reviewer_id, review.decided_at = reviewer.id, utcnow()
        session.add(review)
        accounts.record(session, reviewer, "letter.return", f"letter:{letter.id}", {"comment": comment[:200]})
        review_id = review.id or 0
        after_commit(session, lambda: _enqueue_return_notice(review_id))
        session.commit()
    except StaleDataError:
        session.rollback()
        raise ReviewError("Another member of staff decided on this letter a moment ago.") from None
    return review


RETURN_NOTICE_STUCK = timedelta(minutes=10)


def _enqueue_return_notice(review_id: int) -> None:
    from advocacy.campaigns import actors

    actors.notify_returned.send(review_id)


def send_return_notice(session: Session, review_id: int, *, mailer: Mailer) -> bool:
    """E-mail the signer that staff returned their letter, with the comment and the link to edit and send it again.

    Once per return (``signer_notified_at``); nothing when the letter is no longer waiting for them. A retryable
    mail error propagates (the actor retries); False when there was nothing to send."""
    review = session.get(LetterReview, review_id)
    if review is None or review.status != ReviewStatus.RETURNED or review.signer_notified_at is not None:
        return False
    letter = session.get(Letter, review.letter_id)
    signer = session.get(User, review.signer_id)
    campaign = session.get(Campaign, review.campaign_id)
    if letter is None or signer is None or campaign is None or letter.status is not LetterStatus.DRAFT:
        return False
    settings = get_settings()
    subject, text, html = render_email(
        "letter_returned",
        {
            "signer": signer,
            "campaign": campaign,
            "bill": bill_of(session, campaign),
            "comment": review.comment,
            "link": f"{settings.base_url.rstrip('/')}/letters/{letter.id}",
            "deadline": campaign.deadline,
        },
    )
    mailer.send(
        Email(
            subject=subject,
            sender=Address(settings.mail_from, settings.mail_from_name),
            text=text,
            html=html,
            personalizations=[Personalization(to=[Address(signer.email, signer.name)])],
            categories=["letter-returned"],
        )
    )
    review.signer_notified_at = utcnow()
    session.add(review)
    session.commit()
    return True


def sweep_return_notices(session: Session) -> int:
    """Re-send the nudge for returns whose signer was not e-mailed within ``RETURN_NOTICE_STUCK``."""
    cutoff = utcnow() - RETURN_NOTICE_STUCK
    ids = session.exec(
        select(LetterReview.id).where(
            LetterReview.status == ReviewStatus.RETURNED,
            col(LetterReview.signer_notified_at).is_(None),
            col(LetterReview.decided_at) < cutoff,
        )
    ).all()
    for review_id in ids:
        _enqueue_return_notice(review_id or 0)
    return len(ids)


def close_superseded(session: Session, letters: list[Letter]) -> None:
    """The bill moved on and these held letters were superseded: their reviews leave the queue (caller commits)."""
    for letter in letters:
        review = review_of(session, letter.id or 0)
        if review is not None and review.status == ReviewStatus.PENDING:
            review.status, review.decided_at = ReviewStatus.SUPERSEDED, utcnow()
            session.add(review)


def queue(session: Session, *, status: ReviewStatus = ReviewStatus.PENDING) -> list[ReviewRow]:
    """Reviews in ``status``, oldest first; the pending ones are exactly the letters awaiting approval."""
    query = (
        sa_select(LetterReview, Letter, Campaign, City, User)
        .join(Letter, col(Letter.id) == LetterReview.letter_id)
        .join(Campaign, col(Campaign.id) == LetterReview.campaign_id)
        .join(City, col(City.id) == Letter.city_id)
        .join(User, col(User.id) == LetterReview.signer_id)
        .where(col(LetterReview.status) == status)
        .order_by(col(LetterReview.submitted_at))
    )
    if status == ReviewStatus.PENDING:
        query = query.where(col(Letter.status) == LetterStatus.AWAITING_APPROVAL)
    return [ReviewRow(row[0], row[1], row[2], row[3], row[4]) for row in session.execute(query).all()]
