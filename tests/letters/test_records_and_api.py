"""A city's letters as records (search, CSV, zip of PDFs) and the JSON API, with who may see what."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest

from advocacy.accounts.models import Role
from advocacy.campaigns.models import CampaignStatus, Position
from advocacy.campaigns.service import set_status
from advocacy.db import session_scope
from advocacy.letters.service import send_letter
from tests.helpers import api_token, bearer, login
from tests.letters.conftest import LOS_ANGELES, SACRAMENTO


@pytest.fixture()
def city_letters(make_campaign: Any, make_official: Any, worker: Any, memory_mailer: Any) -> dict[str, Any]:
    """Two sent Sacramento letters (Support on SB 1256, Oppose on SB 1117) and one Los Angeles letter."""
    mayor, la_mayor = make_official(geoid=SACRAMENTO), make_official(geoid=LOS_ANGELES)
    support, oppose = make_campaign("SB 1256", Position.SUPPORT), make_campaign("SB 1117", Position.OPPOSE)
    with session_scope() as session:
        ids = {
            "support": send_letter(session, support.id, mayor, "").id,
            "oppose": send_letter(session, oppose.id, mayor, "").id,
            "la": send_letter(session, support.id, la_mayor, "").id,
        }
    worker.drain()
    return {"mayor": mayor, "la_mayor": la_mayor, "support_campaign": support, **ids}


def test_officials_search_their_citys_letters(client: Any, city_letters: dict[str, Any]) -> None:
    login(client, city_letters["mayor"])
    page = client.get("/letters")
    assert page.status_code == 200 and "Letters of the City of Sacramento" in page.text
    assert f'href="/letters/{city_letters["support"]}"' in page.text
    assert f'href="/letters/{city_letters["la"]}"' not in page.text  # another city's record

    by_bill = client.get("/letters", params={"bill": "sb1117"}).text
    assert f'/letters/{city_letters["oppose"]}"' in by_bill and f'/letters/{city_letters["support"]}"' not in by_bill
    by_position = client.get("/letters", params={"position": "Support", "status": "sent"}).text
    assert (
        f'/letters/{city_letters["support"]}"' in by_position
        and f'/letters/{city_letters["oppose"]}"' not in by_position
    )
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert "No letter matches" in client.get("/letters", params={"date_from": tomorrow}).text
    bad = client.get("/letters", params={"date_from": "yesterday"})
    assert bad.status_code == 422 and "2026-03-16" in bad.text


def test_csv_and_zip_exports_hold_every_letter_and_pdf(client: Any, city_letters: dict[str, Any]) -> None:
    login(client, city_letters["mayor"])
    exported = client.get("/letters/export.csv", params={"bill": "SB 1256"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    mine = [r for r in rows if r["letter_id"] == str(city_letters["support"])]
    assert len(mine) == 1 and mine[0]["city"] == "City of Sacramento" and mine[0]["position"] == "Support"
    assert mine[0]["status"] == "sent" and "assembly.ca.gov" in mine[0]["recipients"]
    assert all(r["city"] == "City of Sacramento" for r in rows)

    archive = zipfile.ZipFile(io.BytesIO(client.get("/letters/export.zip").content))
    names = archive.namelist()
    assert "letters.csv" in names
    for key in ("support", "oppose"):
        [pdf] = [n for n in names if n.startswith(f"pdfs/{city_letters[key]}_")]
        assert archive.read(pdf).startswith(b"%PDF")
    assert not any(n.startswith(f"pdfs/{city_letters['la']}_") for n in names)


def test_api_letters_for_the_callers_city_only(client: Any, city_letters: dict[str, Any], make_official: Any) -> None:
    with session_scope() as session:
        token = api_token(session, city_letters["mayor"])
        la_token = api_token(session, city_letters["la_mayor"])
    listed = client.get("/api/v1/letters", headers=bearer(token))
    assert listed.status_code == 200
    ids = {letter["id"] for letter in listed.json()}
    assert {city_letters["support"], city_letters["oppose"]} <= ids and city_letters["la"] not in ids

    one = client.get(f"/api/v1/letters/{city_letters['support']}", headers=bearer(token)).json()
    assert one["status"] == "sent" and one["pdf_url"] == f"/api/v1/letters/{city_letters['support']}/pdf"
    chair = [r for r in one["recipients"] if r["reason"].startswith("Chair, ")]
    assert chair and chair[0]["channel"] == "email" and chair[0]["status"] == "accepted"
    pdf = client.get(one["pdf_url"], headers=bearer(token))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # Another city's official: not found (not "forbidden": the letter's existence is not theirs to learn).
    assert client.get(f"/api/v1/letters/{city_letters['support']}", headers=bearer(la_token)).status_code == 404
    assert client.get(f"/api/v1/letters/{city_letters['support']}/pdf", headers=bearer(la_token)).status_code == 404
    # The API takes no cookies: a logged-in browser session is not an API caller.
    login(client, city_letters["mayor"])
    assert client.get(f"/api/v1/letters/{city_letters['support']}").status_code == 401


def test_roles_outside_the_city_are_refused(client: Any, city_letters: dict[str, Any], make_official: Any) -> None:
    outsider = make_official(role=Role.REGIONAL_MANAGER)
    with session_scope() as session:
        token = api_token(session, outsider)
    assert client.get(f"/api/v1/letters/{city_letters['support']}", headers=bearer(token)).status_code == 403
    assert client.get("/api/v1/letters", headers=bearer(token)).status_code == 403
    login(client, outsider)
    assert client.get(f"/letters/{city_letters['support']}").status_code == 403


def test_staff_see_every_citys_letters(client: Any, city_letters: dict[str, Any], make_official: Any) -> None:
    staff = make_official(role=Role.STAFF)
    with session_scope() as session:
        token = api_token(session, staff)
    assert client.get(f"/api/v1/letters/{city_letters['la']}", headers=bearer(token)).status_code == 200
    ids = {letter["id"] for letter in client.get("/api/v1/letters", headers=bearer(token)).json()}
    assert {city_letters["support"], city_letters["la"]} <= ids
    login(client, staff)
    assert client.get(f"/letters/{city_letters['la']}").status_code == 200
    # Staff may not send a city's letter.
    campaign_id = city_letters["support_campaign"].id
    assert client.post(f"/api/v1/campaigns/{campaign_id}/letters", headers=bearer(token)).status_code == 403


def test_campaign_api(client: Any, make_campaign: Any, make_official: Any) -> None:
    campaign = make_campaign("SB 1256", Position.SUPPORT, talking_points="One.\nTwo.")
    closed = make_campaign("SB 1117", Position.OPPOSE)
    with session_scope() as session:
        set_status(session, closed, CampaignStatus.CLOSED)
        token = api_token(session, make_official())
    listed = client.get("/api/v1/campaigns", headers=bearer(token)).json()
    assert campaign.id in {c["id"] for c in listed} and closed.id not in {c["id"] for c in listed}
    one = client.get(f"/api/v1/campaigns/{campaign.id}", headers=bearer(token)).json()
    assert one["position"] == "Support" and one["talking_points"] == ["One.", "Two."]
    assert one["bill"]["label"] == "SB 1256" and one["bill"]["committee"] == "Assembly Committee on Local Government"
    assert any(r["reason"] == "Your Senator (SD 8)" for r in one["recipients"]) and one["letter_id"] is None
    assert client.get(f"/api/v1/campaigns/{closed.id}", headers=bearer(token)).status_code == 200
    sent = client.post(f"/api/v1/campaigns/{closed.id}/letters", headers=bearer(token))
    assert sent.status_code == 422 and "closed" in sent.json()["detail"]
    assert client.get("/api/v1/campaigns/999999", headers=bearer(token)).status_code == 404
