"""Pages, exports and the API: who sees what (scope), filters, CSV safety, and nudges at most once a day."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlmodel import select

from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.db import session_scope
from advocacy.directory.models import City, Division
from advocacy.letters.models import DeliveryStatus as D
from advocacy.letters.models import LetterStatus as L
from advocacy.mail import MemoryMailer
from advocacy.participation import service
from advocacy.participation.models import MailState, Nudge
from tests.helpers import api_token, bearer, csrf_token, login
from tests.participation.conftest import add_letter, division_cities, sacramento


def _slug(division_id: int | None) -> str:
    with session_scope() as session:
        division = session.get(Division, division_id)
        assert division is not None
        return division.slug


def test_manager_home_shows_their_division_grid(client: Any, people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        city = sacramento(session)
        add_letter(session, campaign.id or 0, city.id or 0, people["official"], L.SENT, deliveries=[D.DELIVERED])
    login(client, people["manager"])
    page = client.get(f"/participation?campaign={campaign.id}")
    assert page.status_code == 200
    assert "<caption" in page.text and 'scope="row"' in page.text
    assert "Sacramento" in page.text and "Delivered" in page.text
    assert "Send reminders to the selected cities" in page.text
    filtered = client.get(f"/participation?campaign={campaign.id}&state=delivered")
    assert filtered.status_code == 200
    assert 'name="city_id"' not in filtered.text  # the only city shown acted: nothing to nudge
    assert client.get("/participation?state=bogus").status_code == 400


def test_scope_of_each_role(client: Any, people: dict[str, User], campaign: Campaign) -> None:
    home = _slug(people["manager"].division_id)
    other = _slug(people["other_manager"].division_id)
    login(client, people["manager"])
    assert client.get(f"/participation/divisions/{home}").status_code == 200
    assert client.get(f"/participation/divisions/{other}").status_code == 403
    assert client.get(f"/participation/divisions/{other}/grid.csv").status_code == 403
    assert client.get("/participation/league").status_code == 403
    with session_scope() as session:
        elsewhere = session.exec(select(City).where(City.division_id != people["manager"].division_id)).first()
        assert elsewhere is not None
        mine = sacramento(session)
    assert client.get(f"/participation/cities/{elsewhere.id}").status_code == 403
    assert client.get(f"/participation/cities/{mine.id}").status_code == 200

    login(client, people["official"])
    assert client.get(f"/participation/cities/{mine.id}").status_code == 200
    assert client.get(f"/participation/cities/{elsewhere.id}").status_code == 403
    assert client.get(f"/participation/divisions/{home}").status_code == 403
    own_home = client.get("/participation", follow_redirects=False)
    assert own_home.headers["location"] == f"/participation/cities/{mine.id}"
    assert client.get(f"/api/v1/divisions/{home}/participation").status_code == 401  # the API takes no cookie

    login(client, people["staff"])
    league = client.get("/participation/league")
    assert league.status_code == 200
    with session_scope() as session:
        assert all(d.name in league.text for d in session.exec(select(Division)).all())
    assert client.get(f"/participation/divisions/{other}").status_code == 200
    assert client.get("/participation", follow_redirects=False).status_code in (301, 302, 303, 307)


def test_city_history_and_csv_are_formula_safe(client: Any, people: dict[str, User]) -> None:
    with session_scope() as session:
        from tests.participation.conftest import close, new_campaign

        made = new_campaign(session, people["staff"])
        made.title = '=HYPERLINK("http://evil.example")'
        session.add(made)
        session.commit()
        city = sacramento(session)
        add_letter(session, made.id or 0, city.id or 0, people["official"], L.QUEUED)
    try:
        login(client, people["official"])
        page = client.get(f"/participation/cities/{city.id}")
        assert page.status_code == 200 and "HYPERLINK" in page.text
        exported = client.get(f"/participation/cities/{city.id}/history.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text)))
        titles = [row[2] for row in rows[1:]]
        assert '\'=HYPERLINK("http://evil.example")' in titles
        assert not any(t.startswith("=") for t in titles)
        login(client, people["manager"])
        slug = _slug(people["manager"].division_id)
        grid = client.get(f"/participation/divisions/{slug}/grid.csv?campaign={made.id}")
        header = next(csv.reader(io.StringIO(grid.text)))
        assert header[2].startswith("'=")
    finally:
        with session_scope() as session:
            close(session, made.id or 0)


def test_api_divisions_and_participation(client: Any, people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        city = sacramento(session)
        add_letter(session, campaign.id or 0, city.id or 0, people["official"], L.SENT)
        token = api_token(session, people["manager"])
        official_token = api_token(session, people["official"])
    home = _slug(people["manager"].division_id)
    other = _slug(people["other_manager"].division_id)
    divisions = client.get("/api/v1/divisions", headers=bearer(token)).json()
    assert len(divisions) == 16
    assert next(d for d in divisions if d["slug"] == other)["participation_percent"] is None
    assert next(d for d in divisions if d["slug"] == home)["participation_percent"] is not None
    body = client.get(f"/api/v1/divisions/{home}/participation?campaign={campaign.id}", headers=bearer(token)).json()
    assert body["campaigns"] == [campaign.id]
    cell = next(c for c in body["cities"] if c["city_id"] == city.id)["campaigns"][0]
    assert cell["state"] == "sent" and cell["acted"] is True
    assert body["acted"] == 1 and body["possible"] == len(body["cities"])
    since = client.get(
        f"/api/v1/divisions/{home}/participation?campaign={campaign.id}&since=2000-01-01", headers=bearer(token)
    ).json()
    assert [c["city_id"] for c in since["cities"]] == [city.id]
    as_csv = client.get(
        f"/api/v1/divisions/{home}/participation?campaign={campaign.id}&format=csv", headers=bearer(token)
    )
    assert as_csv.status_code == 200 and "Sacramento" in as_csv.text
    assert client.get(f"/api/v1/divisions/{other}/participation", headers=bearer(token)).status_code == 403
    assert (
        client.get(f"/api/v1/divisions/{home}/participation?since=yesterday", headers=bearer(token)).status_code == 400
    )
    assert client.get(f"/api/v1/divisions/{home}/participation", headers=bearer(official_token)).status_code == 403
    assert client.get(f"/api/v1/divisions/{home}/participation").status_code == 401


def test_nudge_once_per_city_campaign_and_day(
    client: Any, people: dict[str, User], campaign: Campaign, mailer: MemoryMailer, worker: Any
) -> None:
    with session_scope() as session:
        idle, acted = division_cities(session, 2)
        add_letter(session, campaign.id or 0, acted.id or 0, people["official"], L.SENT)
        from tests.helpers import create_user

        official = create_user(session, city_geoid=idle.geoid)
    login(client, people["manager"])
    form = {
        "campaign_id": str(campaign.id),
        "city_id": [str(idle.id), str(acted.id)],
        "back": "/participation",
        "_csrf_token": csrf_token(client),
    }
    first = client.post("/participation/nudges", data=form, follow_redirects=False)
    assert first.status_code in (302, 303), first.text
    assert "1%20reminder" in first.headers["location"]
    second = client.post("/participation/nudges", data=form, follow_redirects=False)
    assert "0%20reminder" in second.headers["location"] and "already%20nudged" in second.headers["location"]
    worker.drain()
    with session_scope() as session:
        nudges = session.exec(select(Nudge).where(Nudge.campaign_id == campaign.id)).all()
        assert [(n.city_id, n.status) for n in nudges] == [(idle.id, MailState.SENT)]
        # Running the actor again sends nothing more: the nudge is no longer pending.
        service.send_nudge(session, nudges[0].id or 0, mailer)
    to_official = [e for e in mailer.sent if any(a.email == official.email for p in e.personalizations for a in p.to)]
    assert len(to_official) == 1 and campaign.title in to_official[0].text


def test_nudge_refuses_another_division_and_bad_input(people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        elsewhere = session.exec(select(City).where(City.division_id != people["manager"].division_id)).first()
        assert elsewhere is not None
        manager = session.get(User, people["manager"].id)
        assert manager is not None
        import pytest

        with pytest.raises(service.AccessDenied):
            service.nudge_cities(session, manager, campaign.id or 0, [elsewhere.id or 0])
        with pytest.raises(service.ParticipationError):
            service.nudge_cities(session, manager, campaign.id or 0, [])
        count = len(session.exec(select(Nudge).where(Nudge.campaign_id == campaign.id)).all())
        assert count == 0
