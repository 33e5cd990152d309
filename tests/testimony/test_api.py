"""The JSON API and who may use it: officials see only their own sign-ups, staff see all; only officials sign up;
only staff get the witness list (JSON, CSV or PDF)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Position
from advocacy.db import session_scope, utcnow
from advocacy.testimony import service
from advocacy.testimony.schemas import HearingOut
from tests.helpers import api_token, bearer


def headers_for(user: User) -> dict[str, str]:
    with session_scope() as session:
        return bearer(api_token(session, user))


def test_sign_up_see_and_cancel_through_the_api(
    client: Any, make_call: Callable[..., Any], make_user: Any, staff: User
) -> None:
    call = make_call(capacity=10)
    hearing_id = call.hearing_id
    alice, bob = make_user(name="Alice Fictional"), make_user(name="Bob Fictional")
    as_alice, as_bob, as_staff = headers_for(alice), headers_for(bob), headers_for(staff)

    created = client.post(f"/api/v1/hearings/{hearing_id}/signups", json={"role": "lead"}, headers=as_alice)
    assert created.status_code == 201, created.text
    mine = created.json()
    assert (mine["role"], mine["status"], mine["stated_name"]) == ("lead", "held", "Alice Fictional")
    assert mine["stated_city"] == "City of Sacramento" and 260 <= len(mine["draft"].split()) <= 300
    assert mine["me_too_line"] == "Alice Fictional, Council Member, City of Sacramento, in support."

    again = client.post(f"/api/v1/hearings/{hearing_id}/signups", json={"role": "me_too"}, headers=as_alice)
    assert again.status_code == 409 and "already signed up" in again.json()["detail"]
    remote = client.post(f"/api/v1/hearings/{hearing_id}/signups", json={"mode": "remote"}, headers=as_bob)
    assert remote.status_code == 422 and "remote" in remote.json()["detail"]
    bad = client.post(f"/api/v1/hearings/{hearing_id}/signups", json={"role": "keynote"}, headers=as_bob)
    assert bad.status_code == 400
    bobs = client.post(
        f"/api/v1/hearings/{hearing_id}/signups",
        json={"call_id": call.id, "stated_title": "Vice Mayor", "stated_city": "City of Sacramento"},
        headers=as_bob,
    )
    assert bobs.status_code == 201 and bobs.json()["me_too_line"].startswith("Bob Fictional, Vice Mayor,")

    # An official sees only their own sign-ups; staff see everyone's.
    seen_by_alice = client.get(f"/api/v1/hearings/{hearing_id}", headers=as_alice).json()
    assert [s["stated_name"] for s in seen_by_alice["signups"]] == ["Alice Fictional"]
    assert seen_by_alice["calls"][0]["lead_slots_free"] == 1
    assert seen_by_alice["calls"][0]["me_too_places_left"] == 9
    seen_by_staff = client.get(f"/api/v1/hearings/{hearing_id}", headers=as_staff).json()
    assert sorted(s["stated_name"] for s in seen_by_staff["signups"]) == ["Alice Fictional", "Bob Fictional"]

    # Nobody cancels another official's sign-up; staff may.
    assert client.delete(f"/api/v1/signups/{mine['id']}", headers=as_bob).status_code == 404
    cancelled = client.delete(f"/api/v1/signups/{mine['id']}", headers=as_alice)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["calendar_sequence"] == 1
    assert client.delete(f"/api/v1/signups/{mine['id']}", headers=as_alice).status_code == 422
    assert client.delete(f"/api/v1/signups/{bobs.json()['id']}", headers=as_staff).json()["status"] == "cancelled"


def test_who_may_sign_up(client: Any, make_call: Callable[..., Any], make_user: Any, staff: User) -> None:
    call = make_call()
    url = f"/api/v1/hearings/{call.hearing_id}/signups"
    assert client.post(url, json={}).status_code == 401
    assert client.post(url, json={}, headers=headers_for(staff)).status_code == 403
    assert client.post(url, json={}, headers=headers_for(make_user(Role.REGIONAL_MANAGER))).status_code == 403
    assert client.post("/api/v1/hearings/999999/signups", json={}, headers=headers_for(make_user())).status_code == 404


def test_several_bills_at_one_hearing_need_the_call_id(
    client: Any, make_call: Callable[..., Any], make_campaign: Any, make_hearing: Any, make_user: Any
) -> None:
    hearing = make_hearing()
    first = make_call(hearing=hearing)
    make_call(hearing=hearing, campaign=make_campaign(Position.OPPOSE, bill_index=3))
    headers = headers_for(make_user())
    refused = client.post(f"/api/v1/hearings/{hearing.id}/signups", json={}, headers=headers)
    assert refused.status_code == 422 and "name the call_id" in refused.json()["detail"]
    chosen = client.post(f"/api/v1/hearings/{hearing.id}/signups", json={"call_id": first.id}, headers=headers)
    assert chosen.status_code == 201 and chosen.json()["call_id"] == first.id


def test_only_staff_get_the_witness_list(
    client: Any, make_call: Callable[..., Any], make_user: Any, staff: User
) -> None:
    call = make_call()
    official = make_user(name="Casey Fictional")
    client.post(f"/api/v1/hearings/{call.hearing_id}/signups", json={}, headers=headers_for(official))
    url = f"/api/v1/hearings/{call.hearing_id}/witnesses"
    assert client.get(url, headers=headers_for(official)).status_code == 403
    as_staff = headers_for(staff)

    listed = client.get(url, headers=as_staff)
    assert listed.status_code == 200
    side = listed.json()["bills"][0]["sides"][0]
    assert side["side"] == "support" and [w["name"] for w in side["me_toos"]] == ["Casey Fictional"]

    as_csv = client.get(url, params={"format": "csv"}, headers=as_staff)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert [r["name"] for r in csv.DictReader(io.StringIO(as_csv.text))] == ["Casey Fictional"]
    as_pdf = client.get(url, params={"format": "pdf"}, headers=as_staff)
    assert as_pdf.headers["content-type"] == "application/pdf" and as_pdf.content.startswith(b"%PDF")
    assert client.get(url, params={"format": "xls"}, headers=as_staff).status_code == 422


def test_the_hearing_index_shows_calls_and_only_the_callers_sign_ups(
    make_call: Callable[..., Any], make_user: Any, staff: User
) -> None:
    call = make_call()
    alice, bob = make_user(), make_user()
    with session_scope() as session:
        for person in (alice, bob):
            service.sign_up(session, call.id, person, service.SignupInput("me_too", "in_person", person.name, "", "X"))
        for_alice = service.hearing_index(session, alice, testimony_only=True)
        for_staff = service.hearing_index(session, staff)
    hearing = next(h for h in for_alice if h.hearing.id == call.hearing_id)
    assert [s.signup.user_id for c in hearing.calls for s in c.signups] == [alice.id]
    out = HearingOut.build(hearing, utcnow())
    assert out.calls[0].open and out.calls[0].side == "support" and out.start is not None
    assert out.start.utcoffset() is not None and out.rule  # the committee's letter rule, or why there is none
    staff_view = next(h for h in for_staff if h.hearing.id == call.hearing_id)
    assert sorted(s.signup.user_id for c in staff_view.calls for s in c.signups) == sorted([alice.id, bob.id])
