"""The approval queue: a signer's letter is held for staff review; staff return it with a comment the signer sees,
or approve it and it is queued for delivery as the signer's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from advocacy.accounts.models import User
from advocacy.campaigns import approval, wizard
from advocacy.campaigns.console_models import ReviewStatus
from advocacy.campaigns.models import Campaign
from advocacy.db import session_scope
from advocacy.letters.models import Letter, LetterStatus
from tests.helpers import csrf_token, login


def test_held_returned_with_a_comment_then_approved(
    client: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    signer = make_official("Point Arena", may_sign=True)
    helper = make_official("Point Arena", may_sign=False, title="Council Member")
    campaign = make_campaign(cities=["Point Arena"], requires_approval=True)
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
        with pytest.raises(Exception, match="Only an official who may sign"):
            approval.submit_for_review(session, campaign.id or 0, session.get(User, helper.id) or helper)
        session.rollback()

    login(client, signer)
    token = csrf_token(client)
    answer = client.post(
        f"/campaigns/{campaign.id}/review",
        data={"_csrf_token": token, "local_note": "Main St."},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "league staff will review" in client.get(answer.headers["location"]).text
    with session_scope() as session:
        [row] = [r for r in approval.queue(session) if r.campaign.id == campaign.id]
        assert row.letter.status is LetterStatus.DRAFT and row.review.local_note == "Main St."
        review_id = row.review.id or 0

    login(client, staff)
    token = csrf_token(client)
    queue = client.get("/console/reviews")
    assert queue.status_code == 200 and "Point Arena" in queue.text
    empty = client.post(f"/console/reviews/{review_id}", data={"_csrf_token": token, "action": "return"})
    assert empty.status_code == 422 and "Say what the signer should change" in empty.text
    returned = client.post(
        f"/console/reviews/{review_id}",
        data={"_csrf_token": token, "action": "return", "comment": "Please name the project and its cost."},
        follow_redirects=False,
    )
    assert returned.status_code == 303

    login(client, signer)
    token = csrf_token(client)
    seen = client.get(f"/campaigns/{campaign.id}/review")
    assert "Please name the project and its cost." in seen.text
    resubmitted = client.post(
        f"/campaigns/{campaign.id}/review",
        data={"_csrf_token": token, "local_note": "The Main Street project, $2.1 million."},
        follow_redirects=False,
    )
    assert resubmitted.status_code == 303
    with session_scope() as session:
        review = approval.review_of(session, row.letter.id or 0)
        assert review is not None and review.status == ReviewStatus.PENDING and "$2.1 million" in review.local_note
        letter = approval.approve(session, review.id or 0, staff)
        assert letter.status is LetterStatus.QUEUED and letter.signer_id == signer.id
        assert letter.local_note == "The Main Street project, $2.1 million."
        with pytest.raises(approval.ReviewError, match="already approved"):
            approval.approve(session, review.id or 0, staff)
        assert session.get(Letter, letter.id).status is LetterStatus.QUEUED  # type: ignore[union-attr]
    assert "on its way" in client.get(f"/campaigns/{campaign.id}/review").text


def test_campaigns_without_the_queue_refuse_reviews(
    staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    signer = make_official("Weed")
    campaign = make_campaign(cities=["Weed"])
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
        with pytest.raises(approval.ReviewError, match="no approval queue"):
            approval.submit_for_review(session, campaign.id or 0, signer)
