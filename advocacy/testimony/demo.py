"""``advocacy demo`` extension for testimony: sign-ups open for the demo campaigns heard in committee.

Each demo campaign before a committee gets an illustrative hearing of that committee (its notes say it is a demo
date, not the Legislature's calendar: real hearing dates come from the Daily File) and an open call for witnesses
on the campaign's side, so an official trying the demo can sign up at once. Nobody is signed up for them. Idempotent:
a second run finds the hearing and the call and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.console_models import Hearing
from advocacy.campaigns.deadlines import is_business_day
from advocacy.campaigns.demo import create_demo_campaigns
from advocacy.campaigns.service import stage_of
from advocacy.testimony.models import TestimonyCall
from advocacy.testimony.script import side_of
from advocacy.testimony.service import CallInput, open_call

DEMO_HEARING_NOTE = "Demo hearing: an illustrative date, not the Legislature's calendar."
#: Far enough out that the demo campaign's letter deadline (a week or so) comes first, as it does for real.
HEARING_AFTER_DAYS = 14


def demo_hearing_date(today: date) -> date:
    """The first business day two weeks out that is a Tuesday or a Wednesday (when policy committees meet)."""
    day = today + timedelta(days=HEARING_AFTER_DAYS)
    while day.weekday() not in (1, 2) or not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_to_demo(session: Session, summary: Any) -> None:
    staff = session.exec(select(User).where(User.role == Role.STAFF).order_by(col(User.id))).first()
    if staff is None:
        return
    lines: list[str] = []
    created = 0
    for campaign in create_demo_campaigns(session):
        if side_of(campaign.position) is None:
            continue  # a request to the Governor: no committee hears it
        committee = stage_of(session, campaign).committee
        if committee is None:
            continue
        hearing = session.exec(
            select(Hearing).where(Hearing.committee_id == committee.id, Hearing.notes == DEMO_HEARING_NOTE)
        ).first()
        if hearing is None:
            hearing = Hearing(
                committee_id=committee.id or 0,
                hearing_date=demo_hearing_date(datetime.now(ZoneInfo("America/Los_Angeles")).date()),
                hearing_time="13:30",
                room="1021 O Street, Room 1100",
                notes=DEMO_HEARING_NOTE,
                created_by_id=staff.id,
            )
            session.add(hearing)
            session.commit()
        call = session.exec(
            select(TestimonyCall).where(
                TestimonyCall.campaign_id == campaign.id, TestimonyCall.hearing_id == hearing.id
            )
        ).first()
        if call is None:
            call = open_call(
                session,
                CallInput(
                    campaign_id=campaign.id or 0,
                    hearing_id=hearing.id or 0,
                    remote_offered=True,
                    capacity=40,
                    instructions="Demo call: sign up to see how witnesses are confirmed and what the script says.",
                ),
                staff,
            )
            created += 1
        lines.append(f"/testimony/calls/{call.id}  {campaign.title} at {committee.full_name}, {hearing.hearing_date}")
    summary.add_section("Testimony sign-ups", lines, created=created)
