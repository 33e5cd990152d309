"""The calendar invite: parsed back with the icalendar library, the hearing's wall-clock time in Pacific time is the
right instant on both sides of the daylight-saving changes; one UID per sign-up; a change re-sends REQUEST with a
higher SEQUENCE and a cancellation sends CANCEL. The confirmation e-mail carries it through the real worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar

from advocacy.campaigns.hearings import HearingInput, update_hearing
from advocacy.db import session_scope
from advocacy.mail import Email, MemoryMailer
from advocacy.testimony import mailing, service
from advocacy.testimony.models import TestimonyNotice
from tests.testimony.conftest import pacific_today, sign


def parse(data: bytes) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def invite_of(email: Email) -> bytes:
    attachments = [a for a in email.attachments if a.filename == "invite.ics"]
    assert len(attachments) == 1 and attachments[0].mimetype == "text/calendar"
    return attachments[0].content


def latest_notice(signup_id: int) -> TestimonyNotice:
    with session_scope() as session:
        from sqlmodel import col, select

        notice = session.exec(
            select(TestimonyNotice)
            .where(TestimonyNotice.signup_id == signup_id)
            .order_by(col(TestimonyNotice.sequence).desc())
        ).first()
        assert notice is not None
        return notice


def send_latest(signup_id: int, mailer: MemoryMailer) -> Email:
    notice = latest_notice(signup_id)
    with session_scope() as session:
        assert mailing.send_notice(session, notice.id or 0, mailer=mailer)
    return mailer.sent[-1]


def next_year() -> int:
    return pacific_today().year + 1


def test_a_march_hearing_after_the_change_to_daylight_time(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer
) -> None:
    # The second Sunday of March falls on the 8th to the 14th: the 20th is always daylight time (UTC-7).
    hearing = make_hearing(day=date(next_year(), 3, 20), at="09:00")
    official = make_user()
    signup = sign(official, make_call(hearing=hearing))
    calendar, event = parse(invite_of(send_latest(signup.id, mailer)))

    start = event.decoded("DTSTART")
    assert str(event["DTSTART"].params["TZID"]) == "America/Los_Angeles"
    assert (start.hour, start.minute) == (9, 0)
    assert start.astimezone(UTC) == datetime(next_year(), 3, 20, 16, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - start == timedelta(hours=2)
    # The embedded VTIMEZONE, not only the zone name, says the same thing.
    zone = calendar.walk("VTIMEZONE")[0].to_tz()
    assert datetime(next_year(), 3, 20, 9, 0, tzinfo=zone).utcoffset() == timedelta(hours=-7)
    assert datetime(next_year(), 3, 3, 9, 0, tzinfo=zone).utcoffset() == timedelta(hours=-8)


def test_a_november_hearing_after_the_change_back_to_standard_time(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer
) -> None:
    # The first Sunday of November falls on the 1st to the 7th: the 15th is always standard time (UTC-8).
    hearing = make_hearing(day=date(next_year(), 11, 15), at="09:00")
    signup = sign(make_user(), make_call(hearing=hearing))
    calendar, event = parse(invite_of(send_latest(signup.id, mailer)))

    start = event.decoded("DTSTART")
    assert (start.hour, start.minute) == (9, 0)
    assert start.astimezone(UTC) == datetime(next_year(), 11, 15, 17, 0, tzinfo=UTC)
    zone = calendar.walk("VTIMEZONE")[0].to_tz()
    assert datetime(next_year(), 11, 15, 9, 0, tzinfo=zone).utcoffset() == timedelta(hours=-8)
    assert datetime(next_year(), 10, 15, 9, 0, tzinfo=zone).utcoffset() == timedelta(hours=-7)


def test_one_uid_for_life_with_a_higher_sequence_for_each_change(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any, staff: Any, mailer: MemoryMailer
) -> None:
    hearing = make_hearing(day=date(next_year(), 3, 20), at="09:00", room="1021 O Street, Room 1100")
    official = make_user()
    signup = sign(official, make_call(hearing=hearing), role="lead")

    first_calendar, first = parse(invite_of(send_latest(signup.id, mailer)))
    assert str(first_calendar["METHOD"]) == "REQUEST"
    assert int(first["SEQUENCE"]) == 0 and str(first["STATUS"]) == "TENTATIVE"  # a lead awaiting confirmation
    assert str(first["ATTENDEE"]) == f"mailto:{official.email}"

    # Staff move the hearing to 1:30 p.m. in another room: the sweep sends the update.
    with session_scope() as session:
        update_hearing(
            session,
            hearing.id,
            HearingInput(hearing.committee_id, hearing.hearing_date, "13:30", "1021 O Street, Room 2100"),
            staff,
        )
    with session_scope() as session:
        result = mailing.sweep(session)
        session.commit()
    assert result.hearing_changes == 1
    moved_email = send_latest(signup.id, mailer)
    assert moved_email.subject.startswith("The hearing changed")
    moved_calendar, moved = parse(invite_of(moved_email))
    assert str(moved_calendar["METHOD"]) == "REQUEST" and int(moved["SEQUENCE"]) == 1
    assert str(moved["UID"]) == str(first["UID"])
    assert moved.decoded("DTSTART").astimezone(UTC) == datetime(next_year(), 3, 20, 20, 30, tzinfo=UTC)
    assert "Room 2100" in str(moved["LOCATION"])
    # A second sweep finds nothing more to say.
    with session_scope() as session:
        assert mailing.sweep(session).hearing_changes == 0
        session.commit()

    with session_scope() as session:
        service.cancel_signup(session, signup.id, official)
    cancel_calendar, cancelled = parse(invite_of(send_latest(signup.id, mailer)))
    assert str(cancel_calendar["METHOD"]) == "CANCEL"
    assert int(cancelled["SEQUENCE"]) == 2 and str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["UID"]) == str(first["UID"])


def test_a_hearing_without_a_time_is_an_all_day_event(
    make_hearing: Any, make_call: Callable[..., Any], make_user: Any
) -> None:
    day = pacific_today() + timedelta(days=40)
    official = make_user()
    signup = sign(official, make_call(hearing=make_hearing(day=day, at="")))
    with session_scope() as session:
        calendar, event = parse(mailing.current_invite(session, signup.id, official))
    assert event.decoded("DTSTART") == day
    assert not calendar.walk("VTIMEZONE")


def test_the_confirmation_email_goes_out_through_the_worker(
    make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer, worker: Any
) -> None:
    official = make_user(title="Mayor", name="Jordan Fictional-Mayor")
    signup = sign(official, make_call())
    worker.drain()

    sent = [e for e in mailer.sent if e.personalizations[0].to[0].email == official.email]
    assert len(sent) == 1
    email = sent[0]
    assert email.subject.startswith("Signed up to testify: ")
    assert '"Jordan Fictional-Mayor, Mayor, City of Sacramento, in support."' in email.text
    assert email.html and "Jordan Fictional-Mayor, Mayor, City of Sacramento, in support." in email.html
    _, event = parse(invite_of(email))
    assert str(event["UID"]).startswith(f"testimony-signup-{signup.id}@")
    assert latest_notice(signup.id).status == "sent"
    # Delivering the same message again sends nothing.
    with session_scope() as session:
        assert not mailing.send_notice(session, latest_notice(signup.id).id or 0, mailer=mailer)
    assert len([e for e in mailer.sent if e.personalizations[0].to[0].email == official.email]) == 1


def test_a_later_notice_replaces_an_unsent_earlier_one(
    make_call: Callable[..., Any], make_user: Any, mailer: MemoryMailer
) -> None:
    official = make_user()
    signup = sign(official, make_call())
    with session_scope() as session:
        service.cancel_signup(session, signup.id, official)
    first = latest_notice(signup.id)
    with session_scope() as session:
        from sqlmodel import select

        earlier = session.exec(
            select(TestimonyNotice).where(TestimonyNotice.signup_id == signup.id, TestimonyNotice.sequence == 0)
        ).one()
        assert not mailing.send_notice(session, earlier.id or 0, mailer=mailer)
        assert mailing.send_notice(session, first.id or 0, mailer=mailer)
    assert [e.subject.split(":")[0] for e in mailer.sent] == ["Testimony sign-up cancelled"]
    with session_scope() as session:
        skipped = session.get(TestimonyNotice, earlier.id)
        assert skipped is not None and skipped.status == "skipped"
