"""``advocacy demo`` opens testimony sign-ups and a CitiPAC ask on the demo campaigns, once."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from advocacy.accounts.service import get_user_by_email
from advocacy.campaigns.console_models import Hearing
from advocacy.campaigns.deadlines import is_business_day
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.service import stage_of
from advocacy.citipac.models import CitipacAsk
from advocacy.db import session_scope, utcnow
from advocacy.demo import create_demo
from advocacy.testimony.demo import DEMO_HEARING_NOTE
from advocacy.testimony.models import CallStatus, TestimonyCall, TestimonySignup


def test_demo_opens_calls_and_an_ask_once(loaded_data: Any) -> None:
    with session_scope() as session:
        create_demo(session)
        second = create_demo(session)
    assert second.created_count == 0  # the first run may have been an earlier test's (the database is shared)
    with session_scope() as session:
        # Other tests share the database: look only at the demo's campaigns and hearings.
        demo_campaigns = [c for c in session.exec(select(Campaign)).all() if c.title.startswith("Demo: ")]
        committee_campaigns = [c for c in demo_campaigns if not c.position.to_governor]
        calls = session.exec(
            select(TestimonyCall).where(col(TestimonyCall.campaign_id).in_([c.id for c in demo_campaigns]))
        ).all()
        assert len(calls) == len(committee_campaigns) >= 1  # one call per committee campaign, none for the Governor
        for call in calls:
            hearing = session.get(Hearing, call.hearing_id)
            campaign = session.get(Campaign, call.campaign_id)
            assert hearing is not None and campaign is not None
            assert hearing.notes == DEMO_HEARING_NOTE
            assert call.status == CallStatus.OPEN and call.signup_deadline > utcnow()  # officials can sign up now
            assert hearing.committee_id == stage_of(session, campaign).committee.id  # type: ignore[union-attr]
            assert hearing.hearing_date.weekday() in (1, 2) and is_business_day(hearing.hearing_date)
            # Nobody is signed up in a demo person's name.
            assert session.exec(select(TestimonySignup).where(TestimonySignup.call_id == call.id)).first() is None
        treasurer = get_user_by_email(session, "treasurer@demo.example")
        assert treasurer is not None and treasurer.is_treasurer and treasurer.name.endswith("Example")
        asks = session.exec(
            select(CitipacAsk).where(col(CitipacAsk.campaign_id).in_([c.id for c in demo_campaigns]))
        ).all()
        assert len(asks) == 1 and asks[0].message.startswith("Demo ask")
