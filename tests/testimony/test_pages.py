"""The pages, through the real app with a session cookie and CSRF: staff open sign-ups and decide; an official
signs up, sees the line to state and the draft, downloads the invite, and cancels; staff see the witness list."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from icalendar import Calendar

from advocacy.accounts.models import User
from advocacy.db import session_scope
from advocacy.testimony import service
from tests.helpers import csrf_token, login
from tests.testimony.conftest import pacific_today, sign


def test_staff_open_sign_ups_with_the_form(client: Any, make_campaign: Any, make_hearing: Any, staff: User) -> None:
    campaign, hearing = make_campaign(), make_hearing()
    login(client, staff)
    page = client.get("/testimony")
    assert page.status_code == 200 and "Open sign-ups for a hearing" in page.text

    form = {
        "campaign_id": str(campaign.id),
        "hearing_id": str(hearing.id),
        "file_order": "4",
        "capacity": "12",
        "lead_slots_per_side": "2",
        "deadline_date": "",
        "_csrf_token": csrf_token(client),
    }
    refused = client.post("/testimony/calls", data={**form, "file_order": "four"})
    assert refused.status_code == 422 and "whole number" in refused.text
    opened = client.post("/testimony/calls", data=form, follow_redirects=False)
    assert opened.status_code == 303
    call_page = client.get(opened.headers["location"])
    assert call_page.status_code == 200 and "Sign-ups are open." in call_page.text and "Item 4" in call_page.text


def test_an_official_signs_up_and_cancels_with_the_forms(
    client: Any, make_call: Callable[..., Any], make_user: Any, staff: User
) -> None:
    call = make_call()
    official = make_user(name="Avery Fictional-Page")
    login(client, official)

    listing = client.get("/testimony")
    assert listing.status_code == 200 and f"/testimony/calls/{call.id}" in listing.text
    form_page = client.get(f"/testimony/calls/{call.id}")
    assert 'value="Avery Fictional-Page"' in form_page.text and "in person only" in form_page.text

    form = {
        "role": "lead",
        "mode": "in_person",
        "stated_name": "Avery Fictional-Page",
        "stated_title": "Mayor",
        "stated_city": "City of Sacramento",
        "_csrf_token": csrf_token(client),
    }
    empty = client.post(f"/testimony/calls/{call.id}/signups", data={**form, "stated_name": " "})
    assert empty.status_code == 422 and "Give the name" in empty.text
    done = client.post(f"/testimony/calls/{call.id}/signups", data=form, follow_redirects=False)
    assert done.status_code == 303
    signup_url = done.headers["location"]
    signup_id = int(re.search(r"/testimony/signups/(\d+)$", signup_url).group(1))  # type: ignore[union-attr]

    page = client.get(signup_url)
    assert "Lead slot held, awaiting confirmation" in page.text
    assert "Avery Fictional-Page, Mayor, City of Sacramento, in support." in page.text
    assert "Good morning" in page.text and "Members of the Committee" in page.text

    invite = client.get(f"/testimony/signups/{signup_id}/invite.ics")
    assert invite.headers["content-type"].startswith("text/calendar")
    event = Calendar.from_ical(invite.content).walk("VEVENT")[0]
    assert str(event["UID"]).startswith(f"testimony-signup-{signup_id}@")

    # Staff confirm it with a message the official then sees.
    other = client.__class__(client.app)
    with other:
        login(other, staff)
        decided = other.post(
            f"/testimony/signups/{signup_id}/decision",
            data={
                "action": "confirm",
                "message": "The author's office looks forward to it.",
                "_csrf_token": csrf_token(other),
            },
            follow_redirects=False,
        )
        assert decided.status_code == 303
        assert "Avery Fictional-Page" in other.get(f"/testimony/calls/{call.id}").text
    page = client.get(signup_url)
    assert "Confirmed" in page.text and "The author&#39;s office looks forward to it." in page.text

    cancelled = client.post(
        f"/testimony/signups/{signup_id}/cancel", data={"_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    assert "Your sign-up is cancelled." in client.get(cancelled.headers["location"]).text
    again = client.post(f"/testimony/signups/{signup_id}/cancel", data={"_csrf_token": csrf_token(client)})
    assert again.status_code == 422 and "already cancelled" in again.text


def test_officials_do_not_see_others_sign_ups_or_the_witness_list(
    client: Any, make_call: Callable[..., Any], make_user: Any
) -> None:
    call = make_call()
    owner, other = make_user(), make_user()
    signup = sign(owner, call)
    login(client, other)
    assert client.get(f"/testimony/signups/{signup.id}").status_code == 404
    assert client.get(f"/testimony/hearings/{call.hearing_id}/witnesses").status_code == 403
    assert owner.name not in client.get(f"/testimony/calls/{call.id}").text


def test_staff_see_the_witness_list_and_record_who_spoke(
    client: Any, make_call: Callable[..., Any], make_user: Any, make_hearing: Any, staff: User
) -> None:
    call = make_call(hearing=make_hearing(day=pacific_today() + timedelta(days=3)))
    official = make_user(name="Dana Fictional")
    signup = sign(official, call)
    login(client, staff)
    page = client.get(f"/testimony/hearings/{call.hearing_id}/witnesses")
    assert page.status_code == 200 and "Dana Fictional" in page.text and "After the hearing begins" in page.text
    assert client.get(f"/testimony/hearings/{call.hearing_id}/witnesses.csv").text.count("Dana Fictional") >= 1
    assert client.get(f"/testimony/hearings/{call.hearing_id}/witnesses.pdf").content.startswith(b"%PDF")
    early = client.post(
        f"/testimony/hearings/{call.hearing_id}/spoke",
        data={f"spoke_{signup.id}": "on", "_csrf_token": csrf_token(client)},
    )
    assert early.status_code == 422 and "once the hearing has begun" in early.text
    with session_scope() as session:
        hearing = session.get(service.Hearing, call.hearing_id)
        after = service.hearing_end_utc(hearing) + timedelta(hours=1)
        service.record_spoke(session, call.hearing_id, staff, {signup.id}, now=after)
    assert "Spoke at the hearing" in client.get(f"/testimony/signups/{signup.id}").text
