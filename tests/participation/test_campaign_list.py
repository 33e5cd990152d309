"""One campaign across every member city (staff): states as the grid computes them, filters, counts that add up to
the rows, scope, the CSV and JSON counterparts, and nudging from the list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from sqlmodel import Session, col, func, select

from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.db import session_scope
from advocacy.directory.models import City, Division
from advocacy.letters.models import DeliveryStatus as D
from advocacy.letters.models import LetterStatus as L
from advocacy.mail import MemoryMailer
from advocacy.participation import campaign_list, service
from advocacy.participation.models import MailState, Nudge
from advocacy.participation.service import ACTED, NOT_ACTED, CityState
from tests.helpers import api_token, bearer, create_user, csrf_token, login
from tests.participation.conftest import add_letter, close, division_cities, new_campaign, other_division_slug


def _member_count(session: Session, division_id: int | None = None) -> int:
    query = select(func.count(col(City.id))).where(col(City.is_member))
    if division_id is not None:
        query = query.where(City.division_id == division_id)
    return int(session.exec(query).one())


def _other_division_cities(session: Session, limit: int) -> list[City]:
    division = session.exec(select(Division).where(Division.slug == other_division_slug(session))).one()
    return list(
        session.exec(
            select(City)
            .where(City.division_id == division.id, col(City.is_member))
            .order_by(col(City.name))
            .limit(limit)
        ).all()
    )


def _history(session: Session, campaign: Campaign, author: User) -> dict[int, CityState]:
    """Letters in every state, in two divisions; returns the state each city must show."""
    home = division_cities(session, 7)
    away = _other_division_cities(session, 2)
    cases = [
        (home[0], L.DRAFT, [], False, CityState.DRAFT),
        (home[1], L.DRAFT, [], True, CityState.AWAITING_SIGNATURE),
        (home[2], L.QUEUED, [], False, CityState.SENT),
        (home[3], L.SENT, [D.DELIVERED], False, CityState.DELIVERED),
        (home[4], L.PARTIALLY_SENT, [D.DELIVERED, D.BOUNCED], False, CityState.BOUNCED_OR_FAILED),
        (home[5], L.SENT, [D.PORTAL_SUBMITTED], False, CityState.PORTAL_SUBMITTED),
        (away[0], L.SENT, [D.DELIVERED], False, CityState.DELIVERED),
        (away[1], L.FAILED, [], False, CityState.BOUNCED_OR_FAILED),
    ]
    for city, status, deliveries, signature, _ in cases:
        add_letter(
            session,
            campaign.id or 0,
            city.id or 0,
            author,
            status,
            deliveries=deliveries,
            signature_requested=signature,
        )
    return {city.id or 0: expected for city, _, _, _, expected in cases}


def _staff(session: Session, people: dict[str, User]) -> User:
    staff = session.get(User, people["staff"].id)
    assert staff is not None
    return staff


def test_every_member_city_with_the_grids_states(people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        expected = _history(session, campaign, people["official"])
        staff = _staff(session, people)
        listing = campaign_list.campaign_cities(session, staff, campaign.id or 0)
        assert len(listing.rows) == listing.considered == _member_count(session)
        by_city = {r.city.id: r for r in listing.rows}
        for city_id, state in expected.items():
            assert by_city[city_id].state is state
        assert all(r.state is CityState.NOT_STARTED for r in listing.rows if r.city.id not in expected)
        assert sum(listing.counts.values()) == len(listing.rows)
        assert listing.acted == sum(1 for s in expected.values() if s in ACTED)
        # The same states as the manager's division grid filtered to this campaign.
        manager = session.get(User, people["manager"].id)
        assert manager is not None
        division = service.get_division(session, manager, division_id=manager.division_id)
        grid = service.division_grid(session, manager, division, campaign_id=campaign.id)
        mine = campaign_list.campaign_cities(session, staff, campaign.id or 0, division=division.slug)
        assert [(r.city.id, r.state) for r in mine.rows] == [(r.city.id, r.cells[0].state) for r in grid.rows]
        assert [r.committee for r in mine.rows] == [r.cells[0].committee for r in grid.rows]
        # Committee cities: exactly those whose own legislator sits on the committee hearing the bill.
        marked = service.committee_cities(session, [campaign.id or 0], [r.city.id or 0 for r in listing.rows])
        assert {r.city.id for r in listing.rows if r.committee} == {c for _, c in marked}
        assert marked, "the test bill's committee should mark some cities"


def test_filters_and_counts_add_up_for_every_combination(people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        _history(session, campaign, people["official"])
        staff = _staff(session, people)
        home = division_cities(session, 1)[0]
        home_division = session.get(Division, home.division_id)
        assert home_division is not None
        for division in ("", home_division.slug):
            for committee_only in (False, True):
                everything = campaign_list.campaign_cities(
                    session, staff, campaign.id or 0, division=division, committee_only=committee_only
                )
                assert sum(everything.counts.values()) == everything.considered == len(everything.rows)
                for row in everything.rows:
                    assert not division or row.division.slug == division
                    assert not committee_only or row.committee
                for state in [s.value for s in CityState] + ["not_acted"]:
                    listing = campaign_list.campaign_cities(
                        session, staff, campaign.id or 0, state=state, division=division, committee_only=committee_only
                    )
                    assert listing.counts == everything.counts and listing.considered == everything.considered
                    if state == "not_acted":
                        assert len(listing.rows) == sum(listing.counts[s] for s in NOT_ACTED)
                        assert all(not r.acted for r in listing.rows)
                    else:
                        assert len(listing.rows) == listing.counts[CityState(state)]
                        assert all(r.state.value == state for r in listing.rows)
        named = campaign_list.campaign_cities(session, staff, campaign.id or 0, q=home.name.upper())
        assert home.id in {r.city.id for r in named.rows}
        assert all(home.name.lower() in r.city.name.lower() for r in named.rows)
        with pytest.raises(service.ParticipationError):
            campaign_list.campaign_cities(session, staff, campaign.id or 0, state="sent-ish")
        with pytest.raises(service.ParticipationError):
            campaign_list.campaign_cities(session, staff, campaign.id or 0, division="atlantis")


def test_scope_in_the_service(people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        manager = session.get(User, people["manager"].id)
        official = session.get(User, people["official"].id)
        assert manager is not None and official is not None
        own = campaign_list.campaign_cities(session, manager, campaign.id or 0)
        assert own.division_locked and own.division is not None and own.division.id == manager.division_id
        assert {r.division.id for r in own.rows} == {manager.division_id}
        assert len(own.rows) == _member_count(session, manager.division_id)
        with pytest.raises(service.AccessDenied):
            campaign_list.campaign_cities(session, manager, campaign.id or 0, division=other_division_slug(session))
        with pytest.raises(service.AccessDenied):
            campaign_list.campaign_cities(session, official, campaign.id or 0)
        with pytest.raises(service.NotFound):
            campaign_list.campaign_cities(session, _staff(session, people), 10**9)


def test_last_nudge_and_nudged_today(people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        old, fresh = division_cities(session, 9)[7:9]
        today = service.today_in_california()
        session.add(
            Nudge(
                campaign_id=campaign.id or 0,
                city_id=old.id or 0,
                day=today - timedelta(days=3),
                sent_by_id=people["manager"].id or 0,
                status=MailState.SENT,
            )
        )
        session.add(
            Nudge(
                campaign_id=campaign.id or 0,
                city_id=fresh.id or 0,
                day=today - timedelta(days=2),
                sent_by_id=people["manager"].id or 0,
                status=MailState.SENT,
            )
        )
        session.add(
            Nudge(
                campaign_id=campaign.id or 0,
                city_id=fresh.id or 0,
                day=today,
                sent_by_id=people["manager"].id or 0,
                status=MailState.SKIPPED,
            )
        )
        session.commit()
        listing = campaign_list.campaign_cities(
            session, _staff(session, people), campaign.id or 0, q=old.name, today=today
        )
        row = next(r for r in listing.rows if r.city.id == old.id)
        assert row.last_nudge is not None and row.last_nudge.day == today - timedelta(days=3)
        assert not row.nudged_today and row in listing.to_nudge
        listing = campaign_list.campaign_cities(
            session, _staff(session, people), campaign.id or 0, q=fresh.name, today=today
        )
        row = next(r for r in listing.rows if r.city.id == fresh.id)
        assert row.last_nudge is not None and row.last_nudge.day == today
        assert row.last_nudge.label == "not sent: no official on file"
        assert row.nudged_today and row not in listing.to_nudge


def test_staff_page_filters_by_query_and_links_from_the_league_view(
    client: Any, people: dict[str, User], campaign: Campaign
) -> None:
    with session_scope() as session:
        expected = _history(session, campaign, people["official"])
        home = division_cities(session, 1)[0]
        slug = session.get(Division, home.division_id).slug  # type: ignore[union-attr]
        total = _member_count(session)
    login(client, people["staff"])
    league = client.get("/participation/league")
    assert f'href="/participation/campaigns/{campaign.id}"' in league.text
    assert f'href="/participation/campaigns/{campaign.id}?state=not_acted"' in league.text

    page = client.get(f"/participation/campaigns/{campaign.id}")
    assert page.status_code == 200
    assert campaign.title in page.text and f"{total} of {total} cities" in page.text
    assert "Remind all" in page.text and "Send reminders to the selected cities" in page.text
    delivered = client.get(f"/participation/campaigns/{campaign.id}?state=delivered&division={slug}&committee=")
    assert delivered.status_code == 200
    assert home.name not in delivered.text or expected.get(home.id or 0) is CityState.DELIVERED
    assert 'name="city_id"' not in delivered.text  # only delivered cities listed: nobody to nudge
    assert "Remind all" not in delivered.text
    assert f"state=delivered&amp;division={slug}" in delivered.text  # the filters travel with the CSV link

    assert client.get(f"/participation/campaigns/{campaign.id}?state=bogus").status_code == 400
    assert client.get(f"/participation/campaigns/{campaign.id}?division=atlantis").status_code == 400
    assert client.get("/participation/campaigns/999999999").status_code == 404
    with session_scope() as session:
        draft = new_campaign(session, people["staff"])
        from advocacy.campaigns.models import CampaignStatus

        draft.status = CampaignStatus.DRAFT
        session.add(draft)
        session.commit()
    assert client.get(f"/participation/campaigns/{draft.id}").status_code == 404

    # A staff member on a division grid reaches the league-wide list from the campaign's column.
    grid = client.get(f"/participation/divisions/{slug}")
    assert f'href="/participation/campaigns/{campaign.id}"' in grid.text


def test_regional_managers_and_officials_are_refused_the_staff_list(
    client: Any, people: dict[str, User], campaign: Campaign
) -> None:
    with session_scope() as session:
        manager_token = api_token(session, people["manager"])
        official_token = api_token(session, people["official"])
        staff_token = api_token(session, people["staff"])
    paths = [
        f"/participation/campaigns/{campaign.id}",
        f"/participation/campaigns/{campaign.id}/cities.csv",
        f"/participation/campaigns/{campaign.id}?division={other_division_slug_now()}",
    ]
    for who in ("manager", "official"):
        login(client, people[who])
        for path in paths:
            assert client.get(path).status_code == 403, (who, path)
    client.cookies.clear()
    assert client.get(paths[0], follow_redirects=False).status_code in (302, 303, 401)
    api = f"/api/v1/campaigns/{campaign.id}/participation"
    assert client.get(api, headers=bearer(manager_token)).status_code == 403
    assert client.get(api, headers=bearer(official_token)).status_code == 403
    assert client.get(api).status_code == 401
    assert client.get(api, headers=bearer(staff_token)).status_code == 200


def other_division_slug_now() -> str:
    with session_scope() as session:
        return other_division_slug(session)


def test_csv_matches_the_filtered_list_and_is_formula_safe(client: Any, people: dict[str, User]) -> None:
    with session_scope() as session:
        made = new_campaign(session, people["staff"])
        made.title = '=HYPERLINK("http://evil.example","x")'
        session.add(made)
        session.commit()
        expected = _history(session, made, people["official"])
        staff = _staff(session, people)
        not_acted = campaign_list.campaign_cities(session, staff, made.id or 0, state="not_acted")
        home = division_cities(session, 1)[0]
        slug = session.get(Division, home.division_id).slug  # type: ignore[union-attr]
    try:
        login(client, people["staff"])
        exported = client.get(f"/participation/campaigns/{made.id}/cities.csv?state=not_acted")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert f"participation-campaign-{made.id}.csv" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["City"] for r in rows] == [r.city.name for r in not_acted.rows]
        assert all(r["Acted"] == "no" for r in rows)
        assert {r["Campaign"] for r in rows} == {"'" + made.title}  # neutralised, never a formula
        assert all(not r["Campaign"].startswith("=") for r in rows)

        in_division = client.get(f"/participation/campaigns/{made.id}/cities.csv?division={slug}")
        rows = list(csv.DictReader(io.StringIO(in_division.text)))
        assert {r["Division"] for r in rows} == {session_division_name(slug)}
        states = {r["City"]: r["State"] for r in rows}
        with session_scope() as session:
            for city_id, state in expected.items():
                city = session.get(City, city_id)
                assert city is not None
                if city.division_id == home.division_id:
                    assert states[city.name] == service.STATE_LABELS[state]
        header = next(csv.reader(io.StringIO(in_division.text)))
        assert header == [
            "Campaign id",
            "Campaign",
            "City",
            "Division",
            "State",
            "Acted",
            "Committee city",
            "Testimony sign-ups",
            "Last nudge (Pacific day)",
            "Last nudge status",
        ]
    finally:
        with session_scope() as session:
            close(session, made.id or 0)


def session_division_name(slug: str) -> str:
    with session_scope() as session:
        return session.exec(select(Division.name).where(Division.slug == slug)).one()


def test_api_json_and_csv(client: Any, people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        expected = _history(session, campaign, people["official"])
        token = api_token(session, people["staff"])
        home = division_cities(session, 1)[0]
        slug = session.get(Division, home.division_id).slug  # type: ignore[union-attr]
    api = f"/api/v1/campaigns/{campaign.id}/participation"
    body = client.get(api, headers=bearer(token)).json()
    assert body["campaign_id"] == campaign.id and body["status"] == "active"
    assert sum(body["counts"].values()) == body["considered"] == len(body["cities"])
    assert body["counts"]["delivered"] == sum(1 for s in expected.values() if s is CityState.DELIVERED)
    by_city = {c["city_id"]: c for c in body["cities"]}
    for city_id, state in expected.items():
        assert by_city[city_id]["state"] == state.value and by_city[city_id]["acted"] == (state in ACTED)
    filtered = client.get(f"{api}?state=delivered&division={slug}", headers=bearer(token)).json()
    assert len(filtered["cities"]) == filtered["counts"]["delivered"]
    assert {c["division"] for c in filtered["cities"]} <= {slug}
    committee = client.get(f"{api}?committee=1", headers=bearer(token)).json()
    assert committee["cities"] and all(c["committee_city"] for c in committee["cities"])
    as_csv = client.get(f"{api}?format=csv&state=not_acted", headers=bearer(token))
    assert as_csv.status_code == 200 and as_csv.text.startswith("Campaign id,Campaign,City")
    assert client.get(f"{api}?format=xml", headers=bearer(token)).status_code == 400
    assert client.get(f"{api}?state=nope", headers=bearer(token)).status_code == 400
    assert client.get("/api/v1/campaigns/999999999/participation", headers=bearer(token)).status_code == 404
    schema = client.get("/schema/openapi.json").json()
    assert "/api/v1/campaigns/{campaign_id}/participation" in schema["paths"]


def test_staff_nudge_from_the_list_once_per_city_and_day(
    client: Any, people: dict[str, User], campaign: Campaign, mailer: MemoryMailer, worker: Any
) -> None:
    with session_scope() as session:
        away = _other_division_cities(session, 4)
        idle, acted = away[2], away[3]
        add_letter(session, campaign.id or 0, acted.id or 0, people["official"], L.SENT)
        official = create_user(session, city_geoid=idle.geoid)
        division = session.get(Division, idle.division_id)
        assert division is not None
        listing = campaign_list.campaign_cities(
            session, _staff(session, people), campaign.id or 0, state="not_acted", division=division.slug
        )
        not_acted_ids = [r.city.id for r in listing.to_nudge]
    assert idle.id in not_acted_ids and acted.id not in not_acted_ids
    back = f"/participation/campaigns/{campaign.id}?state=not_acted&division={division.slug}"
    login(client, people["staff"])
    page = client.get(back)
    # The one-click form carries exactly the listed cities that have not acted.
    form_part = page.text.split('class="nudge-all"')[1].split("</form>")[0]
    assert form_part.count('name="city_id"') == len(not_acted_ids)
    form = {
        "campaign_id": str(campaign.id),
        "city_id": [str(idle.id), str(acted.id)],
        "back": back,
        "_csrf_token": csrf_token(client),
    }
    first = client.post("/participation/nudges", data=form, follow_redirects=False)
    assert first.status_code in (302, 303), first.text
    location = unquote(first.headers["location"])
    assert location.startswith(back + "&notice=") and "1 reminder(s) queued" in location
    assert "1 had already acted" in location
    second = client.post("/participation/nudges", data=form, follow_redirects=False)
    assert "already nudged today" in unquote(second.headers["location"])
    worker.drain()
    with session_scope() as session:
        nudges = session.exec(select(Nudge).where(Nudge.campaign_id == campaign.id)).all()
        assert [(n.city_id, n.status, n.sent_by_id) for n in nudges] == [(idle.id, MailState.SENT, people["staff"].id)]
    assert (
        len([e for e in mailer.sent if any(a.email == official.email for p in e.personalizations for a in p.to)]) == 1
    )
    after = client.get(back)
    row = after.text.split(f'href="/participation/cities/{idle.id}"')[0].rsplit("<tr", 1)[1]
    assert "nudged today" in row


def test_a_closed_campaign_lists_without_nudges(client: Any, people: dict[str, User]) -> None:
    with session_scope() as session:
        made = new_campaign(session, people["staff"])
        close(session, made.id or 0)
    login(client, people["staff"])
    page = client.get(f"/participation/campaigns/{made.id}")
    assert page.status_code == 200 and "closed" in page.text
    assert 'name="city_id"' not in page.text and "Remind all" not in page.text
