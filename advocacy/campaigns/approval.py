"""The optional approval queue: in a campaign that has it on, a signer's letter is held for staff review before
delivery (as the league's own 2014 tool did, DOMAIN.md §1.9). Staff approve it (it is queued for rendering and
delivery as if the signer had pressed Send just then), or return it with a comment the signer sees; the signer
edits the local note and submits it again.

The held letter is a letter in ``draft`` with a ``LetterReview`` beside it; approving calls
``letters.service.send_draft`` as the signer. What makes the signer's ordinary Send button go through here is a
hook the letters package must call (see ``submit_for_review``); until then the queue is used through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import User
from advocacy.campaigns.alerts import plan_of
from advocacy.campaigns.console_models import LetterReview, ReviewStatus
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.campaigns.service import get_campaign
from advocacy.db import utcnow
from advocacy.directory.models import City
from advocacy.letters.models import Letter, LetterStatus

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
    """A signer's Send in a campaign with the approval queue: the letter is written and held, not queued.

    The letters package calls this from ``send_letter`` when ``requires_approval(campaign)`` (the hook it needs);
    the same checks apply as for sending (a signer of the city, a letter that renders, no placeholders left)."""
    from advocacy.letters import service as letters

    if not requires_approval(session, campaign_id):
        raise ReviewError("This campaign has no approval queue: letters are sent at once.")
    city = letters.official_city(session, signer)
    campaign = get_campaign(session, campaign_id)
    if campaign.status is not CampaignStatus.ACTIVE:
        raise ReviewError("This campaign is closed; its letters can no longer be sent.")
    note = letters.clean_note(local_note)
    draft = letters.draft_for(session, campaign, city, signer, note)
    if draft.letter is not None and draft.letter.status is not LetterStatus.DRAFT:
        return draft.letter
    if not draft.can_sign:
        raise letters.NotAllowed("Only an official who may sign for the city can send its letters.")
    letters._check_sendable(draft)
    try:
        letter = draft.letter or letters._new_letter(session, draft, signer, note)
        letter.local_note = note
        session.add(letter)
        review = review_of(session, letter.id or 0) or LetterReview(
            letter_id=letter.id or 0, campaign_id=campaign_id, signer_id=signer.id or 0
        )
        review.status, review.signer_id, review.local_note = ReviewStatus.PENDING, signer.id or 0, note
        review.submitted_at, review.decided_at, review.reviewer_id = utcnow(), None, None
        session.add(review)
        accounts.record(session, signer, "letter.submit_for_review", f"letter:{letter.id}")
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = letters.find_letter(session, campaign_id, city.id or 0, draft.stage.key)
        if existing is None:
            raise
        return existing
    return letter


def _pending(session: Session, review_id: int) -> tuple[LetterReview, Letter]:
    review = session.get(LetterReview, review_id)
    if review is None:
        raise ReviewError(f"There is no review {review_id}.")
    if review.status != ReviewStatus.PENDING:
        raise ReviewError(f"This letter was already {review.status}.")
    letter = session.get(Letter, review.letter_id)
    assert letter is not None
    return review, letter


def approve(session: Session, review_id: int, reviewer: User) -> Letter:
    """Staff approve: the letter is queued for rendering and delivery as its signer. Commits."""
    from advocacy.letters import service as letters

    review, letter = _pending(session, review_id)
    signer = session.get(User, review.signer_id)
    if signer is None or not letters.may_sign_for(signer, letter.city_id):
        raise ReviewError("The signer may no longer sign for the city; return the letter instead.")
    review.status, review.reviewer_id, review.decided_at = ReviewStatus.APPROVED, reviewer.id, utcnow()
    session.add(review)
    accounts.record(session, reviewer, "letter.approve", f"letter:{letter.id}")
    session.flush()
    # send_draft commits (the review with it) and enqueues rendering after the commit.
    return letters.send_draft(session, letter.id or 0, signer, review.local_note)


def return_letter(session: Session, review_id: int, reviewer: User, comment: str) -> LetterReview:
    """Staff return the letter with a comment the signer sees; it stays a draft. Commits."""
    comment = comment.strip()
    if not comment:
        raise ReviewError("Say what the signer should change: the comment is what they will see.")
    if len(comment) > COMMENT_MAX:
        raise ReviewError(f"The comment takes at most {COMMENT_MAX:,} characters.")
    review, letter = _pending(session, review_id)
    review.status, review.comment = ReviewStatus.RETURNED, comment
    review.reviewer_id, review.decided_at = reviewer.id, utcnow()
    session.add(review)
    accounts.record(session, reviewer, "letter.return", f"letter:{letter.id}", {"comment": comment[:200]})
    session.commit()
    return review


def queue(session: Session, *, status: ReviewStatus = ReviewStatus.PENDING) -> list[ReviewRow]:
    rows = session.execute(
        sa_select(LetterReview, Letter, Campaign, City, User)
        .join(Letter, col(Letter.id) == LetterReview.letter_id)
        .join(Campaign, col(Campaign.id) == LetterReview.campaign_id)
        .join(City, col(City.id) == Letter.city_id)
        .join(User, col(User.id) == LetterReview.signer_id)
        .where(col(LetterReview.status) == status)
        .order_by(col(LetterReview.submitted_at))
    ).all()
    return [ReviewRow(row[0], row[1], row[2], row[3], row[4]) for row in rows]


def signer_view(session: Session, campaign_id: int, user: User) -> LetterReview | None:
    """The review of the caller's city's letter in this campaign (what a returned letter's signer reads)."""
    if user.city_id is None:
        return None
    return session.exec(
        select(LetterReview)
        .join(Letter, col(Letter.id) == LetterReview.letter_id)
        .where(LetterReview.campaign_id == campaign_id, Letter.city_id == user.city_id)
        .order_by(col(LetterReview.submitted_at).desc())
    ).first()
