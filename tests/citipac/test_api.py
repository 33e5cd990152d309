"""``/api/v1/citipac``: pledges, contributions (refusals as 422 with every reason, Idempotency-Key), reversals,
a contributor's record and the Schedule A CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from advocacy.accounts.models import Role, User
from advocacy.citipac import service
from advocacy.db import session_scope
from tests.citipac.conftest import make_treasurer
from tests.helpers import api_token, bearer, create_user


@pytest.fixture()
def tokens(loaded_data: Any) -> dict[str, dict[str, str]]:
    with session_scope() as session:
        treasurer = make_treasurer(session)
        official = create_user(session, role=Role.OFFICIAL, name="Casey Fictional-Api")
        return {
            "treasurer": bearer(api_token(session, treasurer)),
            "official": bearer(api_token(session, official)),
            "ids": {"treasurer": str(treasurer.id), "official": str(official.id)},
        }


PLEDGE = {
    "amount": "250.00",
    "source": "personal",
    "account_holder": "personal",
    "method": "card",
    "payer_name": "Casey Fictional-Api",
    "payer_street": "4 Pine Street",
    "payer_city": "Sacramento",
    "payer_zip": "95818",
    "payer_email": "casey.api@gmail.com",
    "occupation": "Mayor",
    "employer": "City of Sacramento",
    "attest": True,
}


def test_an_official_pledges(client: Any, tokens: dict[str, Any]) -> None:
    answer = client.post("/api/v1/citipac/pledges", json=PLEDGE, headers=tokens["official"])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["amount"], body["status"], body["source"]) == ("250.00", "open", "personal")
    assert "not from city funds" in body["attestation"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"account_holder": "city"}, "city card"),
        ({"payer_street": "915 I Street", "payer_name": "City of Sacramento"}, "is a city"),
        ({"attest": False}, "attestation"),
        ({"amount": "99.999"}, "dollars and cents"),
    ],
)
def test_a_refused_pledge_says_why(client: Any, tokens: dict[str, Any], change: dict[str, Any], words: str) -> None:
    answer = client.post("/api/v1/citipac/pledges", json={**PLEDGE, **change}, headers=tokens["official"])
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert words in answer.json()["detail"]


def test_a_json_number_amount_is_read_exactly(client: Any, tokens: dict[str, Any]) -> None:
    answer = client.post("/api/v1/citipac/pledges", json={**PLEDGE, "amount": 99.99}, headers=tokens["official"])
    assert answer.status_code == 201 and answer.json()["amount"] == "99.99"


def contribution(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": "250.00",
        "method": "check",
        "reference": "Check 77",
        "contributor": {
            "kind": "individual",
            "first_name": "Robin",
            "last_name": "Api-Example",
            "street": "9 Main St",
            "city": "Ukiah",
            "zip_code": "95482",
            "email": "robin.api@example.org",
        },
    }
    body.update(extra)
    return body


def test_the_treasurer_records_a_contribution_once_per_idempotency_key(client: Any, tokens: dict[str, Any]) -> None:
    headers = {**tokens["treasurer"], "Idempotency-Key": f"api-key-{tokens['ids']['treasurer']}"}
    first = client.post("/api/v1/citipac/contributions", json=contribution(), headers=headers)
    assert first.status_code == 201, first.text
    body = first.json()
    entry = body["entry"]
    assert (entry["amount"], entry["cumulative_ytd"], entry["kind"], entry["method"]) == (
        "250.00",
        "250.00",
        "contribution",
        "check",
    )
    assert entry["info_required"] and entry["info_due_on"]
    assert body["info_missing"] == ["occupation", "employer"] and not body["duplicate"]
    assert entry["recorded_by_id"] == int(tokens["ids"]["treasurer"]) and entry["tran_id"].startswith("CP")
    again = client.post("/api/v1/citipac/contributions", json=contribution(), headers=headers)
    assert again.status_code == 201 and again.json()["duplicate"] and again.json()["entry"]["id"] == entry["id"]

    record = client.get(f"/api/v1/citipac/contributors/{entry['contributor_id']}", headers=tokens["treasurer"])
    assert record.status_code == 200
    data = record.json()
    assert [e["id"] for e in data["entries"]] == [entry["id"]] and data["entity_code"] == "IND"
    assert data["info_missing"] == ["occupation", "employer"]

    refund = client.post(
        f"/api/v1/citipac/contributions/{entry['id']}/reversals",
        json={"kind": "refund", "amount": "50", "reason": "asked for part back"},
        headers=tokens["treasurer"],
    )
    assert refund.status_code == 201, refund.text
    assert (refund.json()["amount"], refund.json()["reverses_entry_id"]) == ("-50.00", entry["id"])


def test_a_refused_contribution_is_a_422_with_every_reason(client: Any, tokens: dict[str, Any]) -> None:
    answer = client.post(
        "/api/v1/citipac/contributions",
        headers=tokens["treasurer"],
        json=contribution(method="cash", amount="100.00", contributor={"kind": "anonymous"}),
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert len(problem["errors"]["reasons"]) == 2
    assert "Cash of $100 or more" in problem["detail"] and "§84304" in problem["detail"]


def test_bad_contribution_input_is_a_400(client: Any, tokens: dict[str, Any]) -> None:
    both = contribution(contributor_id=1)
    answer = client.post("/api/v1/citipac/contributions", headers=tokens["treasurer"], json=both)
    assert answer.status_code == 400 and "one of them" in answer.json()["detail"]
    answer = client.post(
        "/api/v1/citipac/contributions", headers=tokens["treasurer"], json=contribution(method="barter")
    )
    assert answer.status_code == 400


def test_the_schedule_a_export(client: Any, tokens: dict[str, Any]) -> None:
    answer = client.get("/api/v1/citipac/exports/schedule-a?from=2026-01-01&to=2026-12-31", headers=tokens["treasurer"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0][:3] == ["TRAN_ID", "ENTITY_CD", "CTRIB_NAML"] and table[-1][0] == "UNITEMIZED"
    missing = client.get("/api/v1/citipac/exports/schedule-a?to=2026-12-31", headers=tokens["treasurer"])
    assert missing.status_code == 400 and "Give the period" in missing.json()["detail"]


def test_the_official_reads_their_own_record(client: Any, tokens: dict[str, Any]) -> None:
    with session_scope() as session:
        official = session.get(User, int(tokens["ids"]["official"]))
        treasurer = session.get(User, int(tokens["ids"]["treasurer"]))
        assert official is not None and treasurer is not None
        pledge = service.create_pledge(session, official, service.PledgeInput(**{**PLEDGE, "amount": "120"}))
        result = service.record_contribution(
            session,
            treasurer,
            service.ContributionInput(
                amount="120",
                method="card",
                pledge_id=pledge.id,
                contributor=service.contributor_input_for_pledge(session, pledge),
            ),
        )
    answer = client.get(f"/api/v1/citipac/contributors/{result.contributor.id}", headers=tokens["official"])
    assert answer.status_code == 200
    assert answer.json()["occupation"] == "Mayor" and answer.json()["entries"][0]["amount"] == "120.00"
