"""The CitiPAC pages through their forms: the ask (on the CitiPAC page only), a pledge, the treasurer recording,
refusals shown with their reasons, the queue, contributors, settings and exports."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlmodel import col, func, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import service as campaigns
from advocacy.citipac import service
from advocacy.citipac.models import CitipacAsk, LedgerEntry, Pledge
from advocacy.db import session_scope
from advocacy.directory.models import Bill
from tests.citipac.conftest import make_treasurer
from tests.helpers import create_user, csrf_token, login


@pytest.fixture()
def campaign_with_ask(loaded_data: Any) -> dict[str, Any]:
    marker = f"Give to defend local control {uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF)
        bill = session.exec(select(Bill).order_by(col(Bill.id))).first()
        assert bill is not None
        campaign = campaigns.create_campaign(session, bill_id=bill.id, position="Support", created_by=staff)
        ask = service.create_ask(session, staff, campaign_id=campaign.id, suggested_amounts="100, 250", message=marker)
    return {"campaign_id": campaign.id, "ask_id": ask.id, "marker": marker, "staff": staff}


def form(client: Any, **fields: Any) -> dict[str, Any]:
    return {"_csrf_token": csrf_token(client), **fields}


def test_the_ask_shows_on_the_citipac_page_and_never_beside_a_letter(
    client: Any, campaign_with_ask: dict[str, Any]
) -> None:
    with session_scope() as session:
        official = create_user(session, role=Role.OFFICIAL, may_sign=True)
    login(client, official)
    page = client.get("/citipac")
    assert page.status_code == 200
    assert campaign_with_ask["marker"] in page.text
    assert f"/citipac?amount=250.00&amp;ask={campaign_with_ask['ask_id']}" in page.text
    action_page = client.get(f"/campaigns/{campaign_with_ask['campaign_id']}")
    assert action_page.status_code == 200, action_page.text[:300]
    assert campaign_with_ask["marker"] not in action_page.text
    assert "CitiPAC" not in action_page.text


def test_an_official_pledges_through_the_form(client: Any, campaign_with_ask: dict[str, Any]) -> None:
    with session_scope() as session:
        official = create_user(session, role=Role.OFFICIAL, name="Riley Fictional-Form")
    login(client, official)
    prefilled = client.get(f"/citipac?amount=250.00&ask={campaign_with_ask['ask_id']}")
    assert 'value="250.00"' in prefilled.text
    fields = dict(
        amount="250.00",
        source="personal",
        account_holder="city",
        method="card",
        payer_name="Riley Fictional-Form",
        payer_street="8 Birch Lane",
        payer_city="Sacramento",
        payer_zip="95818",
        payer_email="riley.form@gmail.com",
        attest="on",
        ask_id=str(campaign_with_ask["ask_id"]),
    )
    refused = client.post("/citipac/pledges", data=form(client, **fields), follow_redirects=False)
    assert refused.status_code == 422
    assert "The pledge was not made." in refused.text and "city card" in refused.text
    assert 'value="8 Birch Lane"' in refused.text  # what was typed stays
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(Pledge).where(Pledge.user_id == official.id)).one() == 0
    made = client.post(
        "/citipac/pledges", data=form(client, **{**fields, "account_holder": "personal"}), follow_redirects=False
    )
    assert made.status_code == 303 and re.fullmatch(r"/citipac/pledges/\d+", made.headers["location"])
    confirmation = client.get(made.headers["location"])
    assert "Thank you. Your pledge is recorded." in confirmation.text and "$250.00" in confirmation.text
    assert "not from city funds" in confirmation.text


def test_staff_set_and_hide_an_ask(client: Any, campaign_with_ask: dict[str, Any]) -> None:
    login(client, campaign_with_ask["staff"])
    answer = client.post(
        "/citipac/asks/new",
        data=form(
            client, campaign_id=str(campaign_with_ask["campaign_id"]), suggested_amounts="50, 500", message="Second ask"
        ),
        follow_redirects=False,
    )
    assert answer.status_code == 303
    bad = client.post("/citipac/asks/new", data=form(client, campaign_id="", suggested_amounts="x"))
    assert bad.status_code == 422 and "Choose the campaign" in bad.text
    hide = client.post(
        f"/citipac/asks/{campaign_with_ask['ask_id']}/active", data=form(client, active=""), follow_redirects=False
    )
    assert hide.status_code == 303
    with session_scope() as session:
        assert session.get(CitipacAsk, campaign_with_ask["ask_id"]).active is False  # type: ignore[union-attr]
    assert campaign_with_ask["marker"] not in client.get("/citipac").text


@pytest.fixture()
def treasurer_client(client: Any, loaded_data: Any) -> tuple[Any, User]:
    with session_scope() as session:
        treasurer = make_treasurer(session)
    login(client, treasurer)
    return client, treasurer


def test_the_treasurer_records_from_a_pledge_and_a_double_press_records_once(
    treasurer_client: tuple[Any, User],
) -> None:
    client, _ = treasurer_client
    with session_scope() as session:
        official = create_user(session, role=Role.OFFICIAL, name="Morgan Fictional-Pledge")
        pledge = service.create_pledge(
            session,
            official,
            service.PledgeInput(
                amount="150",
                source="personal",
                account_holder="personal",
                payer_name="Morgan Fictional-Pledge",
                payer_street="2 Cedar Ct",
                payer_city="Davis",
                payer_zip="95616",
                payer_email="morgan.p@gmail.com",
                attest=True,
            ),
        )
    new = client.get(f"/citipac/contributions/new?pledge_id={pledge.id}")
    assert new.status_code == 200
    assert 'value="Morgan Fictional"' not in new.text and 'value="Fictional-Pledge"' in new.text
    key = re.search(r'name="request_key" value="([^"]+)"', new.text)
    assert key
    fields = dict(
        request_key=key.group(1),
        pledge_id=str(pledge.id),
        amount="150.00",
        method="check",
        received_on=service.today_in_california().isoformat(),
        reference="Check 9",
        kind="individual",
        first_name="Morgan",
        last_name="Fictional-Pledge",
        street="2 Cedar Ct",
        city="Davis",
        zip_code="95616",
        email="morgan.p@gmail.com",
        user_id=str(official.id),
    )
    first = client.post("/citipac/contributions", data=form(client, **fields), follow_redirects=False)
    assert first.status_code == 303, first.text
    second = client.post("/citipac/contributions", data=form(client, **fields), follow_redirects=False)
    assert second.headers["location"] == first.headers["location"]
    entry_page = client.get(first.headers["location"])
    assert "Recorded." in entry_page.text and "60-day rule" in entry_page.text
    assert "occupation, employer" in entry_page.text
    with session_scope() as session:
        assert session.get(Pledge, pledge.id).status.value == "fulfilled"  # type: ignore[union-attr]
    queue = client.get("/citipac/queue")
    assert "Morgan Fictional-Pledge" in queue.text


def test_a_refused_contribution_shows_every_reason_and_records_nothing(treasurer_client: tuple[Any, User]) -> None:
    client, _ = treasurer_client
    with session_scope() as session:
        before = session.exec(select(func.count()).select_from(LedgerEntry)).one()
    page = client.post(
        "/citipac/contributions",
        data=form(
            client,
            amount="100.00",
            method="cash",
            kind="anonymous",
            received_on=service.today_in_california().isoformat(),
        ),
    )
    assert page.status_code == 422
    assert "This contribution cannot be accepted." in page.text and "Nothing was recorded." in page.text
    assert "Cash of $100 or more cannot be accepted" in page.text and "§84304" in page.text
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(LedgerEntry)).one() == before


def test_contributors_settings_and_exports_pages(treasurer_client: tuple[Any, User]) -> None:
    client, _ = treasurer_client
    suffix = uuid.uuid4().hex[:6]
    created = client.post(
        "/citipac/contributors/new",
        data=form(
            client,
            kind="committee",
            organization_name=f"Neighbors for Parks {suffix}",
            street="1 Park Ave",
            city="Napa",
            zip_code="94559",
        ),
        follow_redirects=False,
    )
    assert created.status_code == 303
    page = client.get(created.headers["location"])
    assert "Missing for the report:" in page.text and "Secretary of State ID" in page.text
    contributor_id = int(created.headers["location"].rsplit("/", 1)[1])
    edited = client.post(
        f"/citipac/contributors/{contributor_id}/edit",
        data=form(
            client,
            kind="committee",
            organization_name=f"Neighbors for Parks {suffix}",
            street="1 Park Ave",
            city="Napa",
            zip_code="94559",
            committee_sos_id="1234567",
        ),
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert "Missing for the report:" not in client.get(f"/citipac/contributors/{contributor_id}").text
    bad = client.post("/citipac/contributors/new", data=form(client, kind="individual", first_name="Only"))
    assert bad.status_code == 422 and "first and last name" in bad.text
    found = client.get(f"/citipac/contributors?q=parks+{suffix}")
    assert f"Neighbors for Parks {suffix}" in found.text

    limit = client.post(
        "/citipac/settings/limits", data=form(client, year="2045", amount="10,100"), follow_redirects=False
    )
    assert limit.status_code == 303 and "$10,100.00" in client.get("/citipac/settings").text
    bad_limit = client.post("/citipac/settings/limits", data=form(client, year="2045", amount="lots"))
    assert bad_limit.status_code == 422
    election = client.post(
        "/citipac/settings/elections",
        data=form(client, election_on="2046-11-03", name="General 2046"),
        follow_redirects=False,
    )
    assert election.status_code == 303 and "General 2046" in client.get("/citipac/settings").text

    assert "Download Schedule A" in client.get("/citipac/exports").text
    csv_answer = client.get("/citipac/exports/schedule-a.csv?from=2026-01-01&to=2026-12-31")
    assert csv_answer.status_code == 200 and "attachment" in csv_answer.headers["content-disposition"]
    assert client.get("/citipac/exports/schedule-a.csv?from=2026-02-01&to=2026-01-01").status_code == 400
    assert client.get("/citipac/ledger?year=2026").status_code == 200
    assert "Regional Division" in client.get("/citipac/divisions").text
