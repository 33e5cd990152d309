"""Sign-up rules: capacity, deadline, double sign-up, remote only where offered, cancellation and the waiting list,
staff confirm / reassign / decline with a message, and bad input that changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Position
from advocacy.db import session_scope, utcnow
from advocacy.testimony import service
from advocacy.testimony.models import (
    NoticeKind,
    SignupStatus,
    TestimonyCall,
    TestimonyNotice,
    TestimonySignup,
)
from tests.testimony.conftest import sign


def statuses(call: TestimonyCall) -> dict[int, str]:
    with session_scope() as session:
        rows = session.exec(select(TestimonySignup).where(TestimonySignup.call_id == call.id)).all()
        return {r.user_id: r.status for r in rows}


def notices_of(signup_id: int) -> list[tuple[int, str, str]]:
    with session_scope() as session:
        rows = session.exec(
            select(TestimonyNotice)
            .where(TestimonyNotice.signup_id == signup_id)
            .order_by(col(TestimonyNotice.sequence))
        ).all()
        return [(n.sequence, n.kind, n.method) for n in rows]


def test_a_me_too_is_confirmed_at_once_and_told_so(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    official = make_user()
    signup = sign(official, call)
    assert signup.status == SignupStatus.CONFIRMED and signup.role == "me_too"
    assert signup.stated_city == "City of Sacramento"
    assert notices_of(signup.id) == [(0, NoticeKind.SIGNED_UP, "REQUEST")]


def test_me_too_capacity_is_enforced(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call(capacity=2)
    first, second, third = make_user(), make_user(), make_user()
    sign(first, call)
    sign(second, call)
    with pytest.raises(service.Conflict, match="All 2 me-too places are taken"):
        sign(third, call)
    assert third.id not in statuses(call)


def test_sign_ups_close_at_the_deadline(make_call: Callable[..., Any], make_user: Any) -> None:
    deadline = utcnow().replace(microsecond=0) + timedelta(hours=2)
    call = make_call(deadline=deadline)
    early, late = make_user(), make_user()
    sign(early, call, now=deadline - timedelta(minutes=1))
    with pytest.raises(service.Conflict, match="Sign-ups closed"):
        sign(late, call, now=deadline)
    assert set(statuses(call)) == {early.id}


def test_a_closed_call_takes_no_sign_ups(make_call: Callable[..., Any], make_user: Any, staff: User) -> None:
    call = make_call()
    with session_scope() as session:
        service.update_call(
            session,
            call.id,
            service.CallInput(call.campaign_id, call.hearing_id, signup_deadline=call.signup_deadline, status="closed"),
            staff,
        )
    with pytest.raises(service.Conflict, match="closed"):
        sign(make_user(), call)


def test_an_official_signs_up_once_per_bill_and_hearing(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    official = make_user()
    sign(official, call, role="lead")
    with pytest.raises(service.Conflict, match="already signed up"):
        sign(official, call)
    with session_scope() as session:
        rows = session.exec(select(TestimonySignup).where(TestimonySignup.user_id == official.id)).all()
    assert [(r.role, r.status) for r in rows] == [("lead", SignupStatus.HELD)]


def test_remote_testimony_only_where_the_committee_offers_it(
    make_call: Callable[..., Any], make_user: Any, make_hearing: Any
) -> None:
    in_person_only = make_call()
    with pytest.raises(service.TestimonyError, match="does not take remote testimony"):
        sign(make_user(), in_person_only, mode="remote")
    remote = make_call(remote_offered=True, hearing=make_hearing())
    assert sign(make_user(), remote, mode="remote").mode == "remote"


def test_only_officials_sign_up(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    for role in (Role.STAFF, Role.REGIONAL_MANAGER):
        with pytest.raises(service.NotAllowed):
            sign(make_user(role), call)


def test_bad_input_is_refused_and_nothing_stored(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    official = make_user()
    with session_scope() as session:
        for data, message in [
            (service.SignupInput("speaker", "in_person", "A", "", "B"), "lead witness or as a me-too"),
            (service.SignupInput("me_too", "by pigeon", "A", "", "B"), "in person or remotely"),
            (service.SignupInput("me_too", "in_person", "   ", "", "B"), "Give the name"),
            (service.SignupInput("me_too", "in_person", "A", "", ""), "Give the city"),
            (service.SignupInput("me_too", "in_person", "A" * 121, "", "B"), "at most 120"),
        ]:
            with pytest.raises(service.TestimonyError, match=message):
                service.sign_up(session, call.id, official, data)
    assert statuses(call) == {}


def test_a_lead_past_the_slots_waits_and_moves_up_when_one_cancels(
    make_call: Callable[..., Any], make_user: Any
) -> None:
    call = make_call()
    a, b, c, d = (make_user() for _ in range(4))
    first, second = sign(a, call, role="lead"), sign(b, call, role="lead")
    third, fourth = sign(c, call, role="lead"), sign(d, call, role="lead")
    assert [s.status for s in (first, second, third, fourth)] == ["held", "held", "waitlisted", "waitlisted"]

    with session_scope() as session:
        service.cancel_signup(session, first.id, a)
    assert statuses(call) == {a.id: "cancelled", b.id: "held", c.id: "held", d.id: "waitlisted"}
    assert notices_of(first.id)[-1] == (1, NoticeKind.CANCELLED, "CANCEL")
    assert notices_of(third.id)[-1] == (1, NoticeKind.PROMOTED, "REQUEST")

    # Cancelling from the waiting list frees no slot and promotes no one.
    with session_scope() as session:
        service.cancel_signup(session, fourth.id, d)
    assert statuses(call)[d.id] == "cancelled"
    assert statuses(call)[c.id] == "held"


def test_signing_up_again_after_cancelling_reuses_the_row_and_its_invite(
    make_call: Callable[..., Any], make_user: Any
) -> None:
    call = make_call()
    official = make_user()
    first = sign(official, call)
    with session_scope() as session:
        service.cancel_signup(session, first.id, official)
    again = sign(official, call, role="lead")
    assert again.id == first.id and again.status == SignupStatus.HELD
    assert notices_of(first.id) == [
        (0, NoticeKind.SIGNED_UP, "REQUEST"),
        (1, NoticeKind.CANCELLED, "CANCEL"),
        (2, NoticeKind.SIGNED_UP, "REQUEST"),
    ]


def test_an_official_cannot_cancel_someone_elses_sign_up(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    owner, other = make_user(), make_user()
    signup = sign(owner, call)
    with session_scope() as session, pytest.raises(service.TestimonyNotFound):
        service.cancel_signup(session, signup.id, other)
    assert statuses(call)[owner.id] == "confirmed"


def test_no_cancelling_once_the_hearing_has_begun(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    official = make_user()
    signup = sign(official, call)
    with session_scope() as session:
        hearing = session.get(service.Hearing, call.hearing_id)
        after = service.hearing_end_utc(hearing) + timedelta(minutes=5)
        with pytest.raises(service.TestimonyError, match="hearing has begun"):
            service.cancel_signup(session, signup.id, official, now=after)


def test_staff_confirm_reassign_and_decline_with_a_message(
    make_call: Callable[..., Any], make_user: Any, staff: User
) -> None:
    call = make_call(capacity=5)
    a, b, c, d = (make_user() for _ in range(4))
    lead_a, lead_b, waiting_c = sign(a, call, role="lead"), sign(b, call, role="lead"), sign(c, call, role="lead")
    me_too_d = sign(d, call)

    with session_scope() as session:
        confirmed = service.decide(session, lead_a.id, staff, "confirm", "The author's office confirmed you.")
        assert (confirmed.status, confirmed.staff_message) == ("confirmed", "The author's office confirmed you.")
        with pytest.raises(service.TestimonyError, match="Both lead slots are taken"):
            service.decide(session, waiting_c.id, staff, "confirm")
        with pytest.raises(service.TestimonyError, match="Both lead slots are taken"):
            service.decide(session, me_too_d.id, staff, "reassign")
        with pytest.raises(service.TestimonyError, match="Say why"):
            service.decide(session, lead_b.id, staff, "decline", "  ")
        # Moving lead B to me-too frees a slot: C moves up from the waiting list.
        moved = service.decide(session, lead_b.id, staff, "reassign", "The author chose two other witnesses.")
        assert (moved.role, moved.status) == ("me_too", "confirmed")
    assert statuses(call)[c.id] == "held"
    assert notices_of(lead_b.id)[-1] == (1, NoticeKind.REASSIGNED, "REQUEST")

    with session_scope() as session:
        declined = service.decide(session, waiting_c.id, staff, "decline", "The committee limited witnesses.")
    assert declined.status == "declined"
    assert notices_of(waiting_c.id)[-1][1:] == (NoticeKind.DECLINED, "CANCEL")
    # A declined official cannot simply sign up again; they see why.
    with pytest.raises(service.Conflict, match="The committee limited witnesses"):
        sign(c, call, role="me_too")
    # The declined lead's slot is free again: staff may give it to a me-too.
    with session_scope() as session:
        promoted = service.decide(session, me_too_d.id, staff, "reassign", "Please lead for your city.")
    assert (promoted.role, promoted.status) == ("lead", "confirmed")


def test_only_staff_decide(make_call: Callable[..., Any], make_user: Any) -> None:
    call = make_call()
    official = make_user()
    signup = sign(official, call, role="lead")
    with session_scope() as session, pytest.raises(service.NotAllowed):
        service.decide(session, signup.id, official, "confirm")


def test_opening_sign_ups_checks_the_campaign_and_the_hearing(
    make_campaign: Any, make_hearing: Any, staff: User, make_user: Any
) -> None:
    hearing = make_hearing()
    governor = make_campaign(Position.REQUEST_FOR_SIGNATURE)
    with session_scope() as session:
        with pytest.raises(service.TestimonyError, match="goes to the Governor"):
            service.open_call(session, service.CallInput(governor.id, hearing.id), staff)
        with pytest.raises(service.NotAllowed):
            service.open_call(session, service.CallInput(governor.id, hearing.id), make_user())
        support = make_campaign(Position.SUPPORT)
        with pytest.raises(service.TestimonyError, match="at most 2 lead witnesses"):
            service.open_call(session, service.CallInput(support.id, hearing.id, lead_slots_per_side=3), staff)
        late = service.hearing_end_utc(hearing) + timedelta(hours=1)
        with pytest.raises(service.TestimonyError, match="before the hearing"):
            service.open_call(session, service.CallInput(support.id, hearing.id, signup_deadline=late), staff)
        call = service.open_call(session, service.CallInput(support.id, hearing.id), staff)
        assert call.side == "support" and call.lead_slots_per_side == 2 and not call.remote_offered
        # The default deadline: 5 p.m. Pacific the day before the hearing.
        assert service.hearing_end_utc(hearing) - call.signup_deadline < timedelta(hours=24)
        # One call per hearing, bill and side.
        with pytest.raises(service.TestimonyError, match="already open"):
            service.open_call(session, service.CallInput(support.id, hearing.id), staff)
        oppose = make_campaign(Position.OPPOSE_UNLESS_AMENDED)
        assert service.open_call(session, service.CallInput(oppose.id, hearing.id), staff).side == "oppose"
    with session_scope() as session:
        count = len(session.exec(select(TestimonyCall).where(TestimonyCall.hearing_id == hearing.id)).all())
    assert count == 2


def test_lowering_slots_or_turning_remote_off_is_refused_while_sign_ups_need_them(
    make_call: Callable[..., Any], make_user: Any, staff: User
) -> None:
    call = make_call(remote_offered=True)
    a, b = make_user(), make_user()
    sign(a, call, role="lead", mode="remote")
    sign(b, call, role="lead")
    c = make_user()
    sign(c, call, role="lead")
    base = {"signup_deadline": call.signup_deadline}
    with session_scope() as session:
        with pytest.raises(service.TestimonyError, match="remote"):
            service.update_call(session, call.id, service.CallInput(call.campaign_id, call.hearing_id, **base), staff)
        with pytest.raises(service.TestimonyError, match="lowering the slots"):
            service.update_call(
                session,
                call.id,
                service.CallInput(
                    call.campaign_id, call.hearing_id, remote_offered=True, lead_slots_per_side=1, **base
                ),
                staff,
            )
    assert statuses(call) == {a.id: "held", b.id: "held", c.id: "waitlisted"}
