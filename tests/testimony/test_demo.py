"""``advocacy demo`` opens testimony sign-ups and a CitiPAC ask on the demo campaigns, once."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

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
        first = create_demo(session)
        second = create_demo(session)
    assert first.created_count > 0 and second.created_count == 0
    with session_scope() as session:
        calls = session.exec(select(TestimonyCall)).all()
        hearings = session.exec(select(Hearing)).all()
        committee_campaigns = [
            c for c in session.exec(select(Campaign)).all() if not c.position.to_governor and c.title.startswith("Demo")
        ]
        assert len(calls) == len(committee_campaigns) >= 1  # one call per committee campaign, none for the Governor
        assert all(h.notes == DEMO_HEARING_NOTE for h in hearings)
        for call in calls:
            hearing = session.get(Hearing, call.hearing_id)
            campaign = session.get(Campaign, call.campaign_id)
            assert hearing is not None and campaign is not None
            assert call.status == CallStatus.OPEN and call.signup_deadline > utcnow()  # officials can sign up now
            assert hearing.committee_id == stage_of(session, campaign).committee.id  # type: ignore[union-attr]
            assert hearing.hearing_date.weekday() in (1, 2) and is_business_day(hearing.hearing_date)
        assert session.exec(select(TestimonySignup)).first() is None  # nobody is signed up in their name
        treasurer = get_user_by_email(session, "treasurer@demo.example")
        assert treasurer is not None and treasurer.is_treasurer and treasurer.name.endswith("Example")
        asks = session.exec(select(CitipacAsk)).all()
        assert len(asks) == 1 and asks[0].message.startswith("Demo ask")
