"""The console's JSON API: campaigns (create, change, launch, stats), bills, hearings, committee rules; the letters
package's GET endpoints on the same paths keep working beside them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from advocacy.accounts.models import User
from advocacy.campaigns.alerts import process_run
from advocacy.db import session_scope
from advocacy.mail import MemoryMailer
from tests.campaigns.conftest import audience_size, bill_by_label, committee_named
from tests.helpers import api_token, bearer


def test_campaign_lifecycle_through_the_api(client: Any, staff: User, make_official: Callable[..., User]) -> None:
    make_official("Isleton")
    with session_scope() as session:
        headers = bearer(api_token(session, staff))
        bill = bill_by_label(session, "SB 1117")
    refused = client.post("/api/v1/campaigns", headers=headers, json={"bill_id": bill.id})
    assert refused.status_code == 422 and "position" in refused.json()["detail"]
    bad_rest = client.post(
        "/api/v1/campaigns", headers=headers, json={"bill_id": bill.id, "position": "Oppose", "targets": ["governor"]}
    )
    assert bad_rest.status_code == 422
    created = client.post(
        "/api/v1/campaigns",
        headers=headers,
        json={
            "bill_id": bill.id,
            "position": "Oppose",
            "title": f"API {uuid.uuid4().hex[:6]}",
            "talking_points": "Costs.\nLocal control.",
            "audience": {"cities": ["Isleton"], "roles": []},
            "deadline": "2099-03-03T17:00:00",
            "citipac_ask": True,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["citipac_ask"] and body["deadline_overridden"]
    assert body["deadline"].startswith("2099-03-04T01:00")  # 5 p.m. Pacific (PST) is 01:00 UTC the next day
    assert body["audience"]["cities"] and body["targets"] == ["committee", "author", "own_legislators"]
    campaign_id = body["id"]
    patched = client.patch(
        f"/api/v1/campaigns/{campaign_id}",
        headers=headers,
        json={"targets": ["committee", "all_assembly"], "requires_approval": True},
    )
    assert patched.status_code == 200 and patched.json()["targets"] == ["committee", "all_assembly"]
    assert patched.json()["deadline_overridden"] and patched.json()["requires_approval"]
    # The letters package's GET on the same path still answers.
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers).json()["id"] == campaign_id
    assert client.get("/api/v1/campaigns", headers=headers).status_code == 200
    launched = client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=headers)
    assert launched.status_code == 202 and launched.json()["kind"] == "launch"
    with session_scope() as session:
        process_run(session, launched.json()["id"], mailer=MemoryMailer())
    stats = client.get(f"/api/v1/campaigns/{campaign_id}/stats", headers=headers).json()
    assert (
        stats["alerts_sent"] == audience_size(campaign_id) >= 1
        and stats["cities_targeted"] == 1
        and stats["cities_acted"] == 0
    )
    assert stats["runs"][0]["status"] == "done" and stats["time_left"].endswith("left")
    locked = client.patch(f"/api/v1/campaigns/{campaign_id}", headers=headers, json={"position": "Support"})
    assert locked.status_code == 422 and "launched campaign" in locked.json()["detail"]
    closed = client.patch(f"/api/v1/campaigns/{campaign_id}", headers=headers, json={"status": "closed"})
    assert closed.json()["status"] == "closed"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/reminders", headers=headers).status_code == 422
    assert client.get("/api/v1/campaigns/999999/stats", headers=headers).status_code == 404


def test_bills_hearings_and_rules_through_the_api(client: Any, staff: User) -> None:
    with session_scope() as session:
        headers = bearer(api_token(session, staff))
        committee = committee_named(session, "Senate", "Labor, Public Employment and Retirement")
    label = f"AB {int(uuid.uuid4().int % 40_000) + 50_000}"
    imported = client.post(
        "/api/v1/bills",
        headers=headers,
        json=[
            {
                "bill": label,
                "title": "API bill",
                "position": "Support",
                "hot": True,
                "committee": "Senate Environmental Quality",
                "talking_points": ["one", "two"],
            }
        ],
    )
    assert imported.status_code == 200 and imported.json()["bills_created"] == 1
    assert client.post("/api/v1/bills", headers=headers, json=[{"bill": label, "position": "Nope"}]).status_code == 422
    with session_scope() as session:
        bill_id = bill_by_label(session, label).id
    assert (
        client.patch(f"/api/v1/bills/{bill_id}", headers=headers, json={"bill": "", "hot": False}).json()[
            "agenda_updated"
        ]
        == 1
    )
    assert client.get(f"/api/v1/bills/{bill_id}", headers=headers).status_code == 200  # the directory's GET
    rule = client.put(
        f"/api/v1/committees/{committee.id}/rule",
        headers=headers,
        json={
            "kind": "calendar_days",
            "days": 9,
            "at_time": "12:00",
            "source_url": "https://senv.senate.ca.gov/",
            "listing": "no_conditional",
        },
    )
    assert rule.status_code == 200 and rule.json()["description"] == "12:00 p.m., 9 calendar days before the hearing"
    hearing = client.post(
        "/api/v1/hearings",
        headers=headers,
        json={"committee_id": committee.id, "hearing_date": "2027-01-27", "hearing_time": "09:30", "room": "2100"},
    )
    assert hearing.status_code == 201, hearing.text
    # Nine days before Wednesday January 27, 2027 is Monday the 18th, MLK Day: Friday the 15th at noon.
    assert hearing.json()["deadline_text"] == "Friday, January 15, 2027, 12:00 p.m. Pacific"
    moved = client.patch(
        f"/api/v1/hearings/{hearing.json()['id']}",
        headers=headers,
        json={"committee_id": committee.id, "hearing_date": "2027-02-03", "hearing_time": "25:99"},
    )
    assert moved.status_code == 422
    listed = client.get(f"/api/v1/hearings?committee_id={committee.id}", headers=headers).json()
    assert any(h["id"] == hearing.json()["id"] for h in listed)
    assert client.delete(f"/api/v1/hearings/{hearing.json()['id']}", headers=headers).status_code == 204


def test_the_openapi_schema_documents_the_console_api(client: Any) -> None:
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/campaigns"]) and {"get", "patch"} <= set(
        paths["/api/v1/campaigns/{campaign_id}"]
    )
    assert "post" in paths["/api/v1/campaigns/{campaign_id}/launch"]
    assert "get" in paths["/api/v1/campaigns/{campaign_id}/stats"]
    assert "post" in paths["/api/v1/templates/preview"] and "delete" in paths["/api/v1/hearings/{hearing_id}"]
