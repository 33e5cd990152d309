"""A message variant per target group is sent for real: a city's letter whose own delegation has a variant of its own
is two documents (two PDFs, each addressed to its recipients, on the same letterhead, date, RE line and signature),
delivered in two SendGrid calls, each with the copy for the city's records; a letter without variants stays one PDF
and one call. Retries and a worker's death between the two calls send nothing twice.

Davis lies wholly in Assembly District 4 and Senate District 3, so its delegation is two people; SB 1256 is heard in
the Assembly Committee on Local Government (chair Juan Carrillo), where neither of them sits.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import signal
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns import templates_store, variants
from advocacy.campaigns.models import Campaign, TargetGroup
from advocacy.db import session_scope
from advocacy.jobs import run_sweep
from advocacy.letters import delivery
from advocacy.letters.compose import storage_path
from advocacy.letters.models import Channel, Delivery, DeliveryStatus, Letter, LetterDocumentFile, LetterStatus
from advocacy.letters.service import send_letter
from advocacy.mail import Email, MemoryMailer
from advocacy.settings import get_settings
from tests.helpers import api_token, bearer, create_user, login
from tests.letters.test_sweep import (  # the crash and kill machinery of the sweep tests, reused
    MODES,
    WorkerKilled,
    backdate,
    drop_messages,
    stuck_after,  # noqa: F401  (a fixture)
    wait_for,
    worker_process,  # noqa: F401  (a fixture)
)

DAVIS = "0618100"
DELEGATION = {"The Honorable Cecilia Aguiar-Curry", "The Honorable Christopher Cabaldon"}
DELEGATION_BODY = """\
<p>On behalf of the {{ letterhead.official_name }}, I write to you as our city's representatives in Sacramento to ask
for your support of <strong>{{ bill.label }}{% if bill.author %} ({{ bill.author }}){% endif %}</strong>{% if bill |
version_phrase %}, {{ bill | version_phrase }}{% endif %}.</p>
{% if talking_points %}
<p>You know our community well, and you know what this bill would mean for it:</p>
<ul>
{% for point in talking_points %}
  <li>{{ point }}</li>
{% endfor %}
</ul>
{% endif %}
{% if local_note %}
<div class="local-note">{{ local_note | paragraphs }}</div>
{% endif %}
<p>We ask that you champion {{ bill.label }} with your colleagues and vote “AYE” when it reaches you. Thank you for
standing with the {{ letterhead.official_name }}.</p>
"""


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages).split())


def payloads_for(fake: Any, letter_id: int) -> list[dict[str, Any]]:
    """The messages SendGrid accepted for the letter, in order."""
    return [
        p
        for p in fake.accepted
        if any(x.get("custom_args", {}).get("letter_id") == str(letter_id) for x in p["personalizations"])
    ]


def statuses_for(fake: Any, letter_id: int) -> list[int]:
    return [r.status for r in fake.requests if f'"letter_id": "{letter_id}"' in r.body.decode()]


@pytest.fixture()
def delegation_campaign(make_campaign: Callable[..., Campaign]) -> Callable[[], tuple[Campaign, int]]:
    """A Support campaign on SB 1256 whose own-delegation group has a variant of its own (committee members and
    the author keep the file template); returns the campaign and the variant's template version id."""

    def make() -> tuple[Campaign, int]:
        campaign = make_campaign(
            "SB 1256",
            talking_points=(
                "Ends years of litigation over approved subdivision maps by setting a clear time limit.\n"
                "Gives homebuilders and neighbors the same certainty about when a decision is final."
            ),
        )
        with session_scope() as session:
            staff = create_user(session, role=Role.STAFF)
            version = templates_store.create_template(
                session, name=f"Delegation {uuid.uuid4().hex[:8]}", kind="support", source=DELEGATION_BODY, user=staff
            )
            row = session.get(Campaign, campaign.id)
            assert row is not None
            variants.set_variants(session, row, TargetGroup.OWN_LEGISLATORS, [version.id or 0])
            return campaign, version.id or 0

    return make


def davis_mayor(make_official: Callable[..., User]) -> User:
    return make_official(geoid=DAVIS, name=f"Jordan Example {uuid.uuid4().hex[:4]}")


def queue(campaign: Campaign, mayor: User, note: str = "") -> int:
    with session_scope() as session:
        return send_letter(session, campaign.id or 0, mayor, note).id or 0


def stored(letter_id: int) -> tuple[Letter, list[Delivery], list[LetterDocumentFile]]:
    with session_scope() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        deliveries = session.exec(
            select(Delivery).where(Delivery.letter_id == letter_id).order_by(col(Delivery.sort_order))
        ).all()
        files = session.exec(select(LetterDocumentFile).where(LetterDocumentFile.letter_id == letter_id)).all()
        return letter, list(deliveries), list(files)


def test_a_delegation_variant_sends_two_pdfs_in_two_calls(
    worker: Any,
    sendgrid: Any,
    client: Any,
    delegation_campaign: Callable[[], tuple[Campaign, int]],
    make_official: Callable[..., User],
) -> None:
    campaign, version_id = delegation_campaign()
    mayor = davis_mayor(make_official)
    letter_id = queue(campaign, mayor, "Davis approved 1,200 homes last year whose maps were challenged in court.")
    worker.drain()
    letter, deliveries, files = stored(letter_id)
    assert letter.status is LetterStatus.SENT and letter.pdf_path
    assert letter.template_version_id is None  # the main document is the file template

    # One further document, for the delegation, with its own path, sha256 and template version.
    [extra] = files
    assert extra.target_group == "own_legislators" and extra.template_version_id == version_id
    main_pdf, delegation_pdf = storage_path(letter.pdf_path).read_bytes(), storage_path(extra.pdf_path).read_bytes()
    import hashlib

    assert hashlib.sha256(delegation_pdf).hexdigest() == extra.pdf_sha256 != letter.pdf_sha256
    by_document = {d.name: d.document for d in deliveries}
    assert {name for name, document in by_document.items() if document == "own_legislators"} == DELEGATION
    assert by_document["The Honorable Juan Carrillo"] == "" and by_document["The Honorable Brian Jones"] == ""

    # Each PDF is addressed to its own people, with its own text, and shares the rest.
    main, delegation = pdf_text(main_pdf), pdf_text(delegation_pdf)
    assert "Dear Chair Carrillo:" in main and "would make a real difference" in main and "champion" not in main
    assert "The Honorable Cecilia Aguiar-Curry" in delegation and "The Honorable Christopher Cabaldon" in delegation
    assert "Member of the Assembly, District 4" in delegation and "Member of the Senate, District 3" in delegation
    assert "Dear Assembly Member Aguiar-Curry and Senator Cabaldon:" in delegation
    assert "We ask that you champion SB 1256" in delegation and "Dear Chair" not in delegation
    for text in (main, delegation):
        assert "CITY OF DAVIS" in text and "SB 1256 (Brian Jones)" in text and "SUPPORT" in text
        assert mayor.name in text and "Davis approved 1,200 homes" in text
        assert "Members, Assembly Committee on Local Government" in text
    # The delegation is copied on the main letter; on its own letter it is the addressee, not a copy.
    assert "The Honorable Cecilia Aguiar-Curry, Assembly District 4" in main
    assert "Aguiar-Curry, Assembly District 4" not in delegation

    # Two SendGrid calls: one per document, each with its recipients and the copy for the city's records.
    assert statuses_for(sendgrid, letter_id) == [202, 202]
    first, second = payloads_for(sendgrid, letter_id)
    emails = {d.name: d.email for d in deliveries if d.channel is Channel.EMAIL}
    main_people = {name for name, email in emails.items() if by_document[name] == ""}
    for payload, people, filename, pdf in (
        (first, main_people, "SB-1256_Davis_Support.pdf", main_pdf),
        (second, DELEGATION, "SB-1256_Davis_Support_Delegation.pdf", delegation_pdf),
    ):
        *recipients, copy = payload["personalizations"]
        assert {p["to"][0]["name"] for p in recipients} == people
        assert {p["to"][0]["email"] for p in recipients} == {emails[name] for name in people}
        assert copy["custom_args"]["copy"] == "1" and copy["to"][0]["email"] == mayor.email
        assert get_settings().league_copy_address in [c["email"] for c in copy["cc"]]
        [attachment] = payload["attachments"]
        assert attachment["filename"] == filename and base64.b64decode(attachment["content"]) == pdf
    assert all(p["custom_args"].get("document") == "own_legislators" for p in second["personalizations"])
    assert (
        "addressed to The Honorable Cecilia Aguiar-Curry and The Honorable Christopher Cabaldon"
        in (second["content"][0]["value"])
    )
    assert all(d.status is DeliveryStatus.ACCEPTED and d.attempts == 1 for d in deliveries if d.email)
    assert letter.send_attempts == 2

    # The API says which document each recipient gets, and serves both.
    with session_scope() as session:
        token = api_token(session, mayor)
    answer = client.get(f"/api/v1/letters/{letter_id}", headers=bearer(token)).json()
    documents = {d["document"]: d for d in answer["documents"]}
    assert set(documents) == {"", "own_legislators"}
    assert documents["own_legislators"]["recipients"] == 2 and documents["own_legislators"]["template_version_id"]
    assert documents["own_legislators"]["pdf_sha256"] == extra.pdf_sha256
    cabaldon = next(r for r in answer["recipients"] if r["name"] == "The Honorable Christopher Cabaldon")
    assert cabaldon["document"] == "own_legislators"
    assert cabaldon["pdf_url"] == f"/api/v1/letters/{letter_id}/pdf?document=own_legislators"
    assert client.get(cabaldon["pdf_url"], headers=bearer(token)).content == delegation_pdf
    assert client.get(f"/api/v1/letters/{letter_id}/pdf", headers=bearer(token)).content == main_pdf
    assert client.get(f"/api/v1/letters/{letter_id}/pdf?document=all_senate", headers=bearer(token)).status_code == 404
    assert client.get(f"/api/v1/letters/{letter_id}/pdf?document=../x", headers=bearer(token)).status_code == 422

    # The letter page links each PDF; the records export holds both.
    login(client, mayor)
    page = client.get(f"/letters/{letter_id}").text
    assert "This letter is 2 documents" in page
    assert f'href="/letters/{letter_id}/pdf?document=own_legislators"' in page
    assert "The letter to the city&#39;s own legislators" in page
    assert client.get(f"/letters/{letter_id}/pdf?document=own_legislators").content == delegation_pdf
    archive = zipfile.ZipFile(io.BytesIO(client.get("/letters/export.zip", params={"bill": "SB 1256"}).content))
    assert f"pdfs/{letter_id}_SB-1256_Davis_Support.pdf" in archive.namelist()
    assert archive.read(f"pdfs/{letter_id}_SB-1256_Davis_Support_Delegation.pdf") == delegation_pdf
    rows = {row["letter_id"]: row for row in csv.DictReader(io.StringIO(archive.read("letters.csv").decode()))}
    assert (
        rows[str(letter_id)]["pdf_file"].count(".pdf") == 2 and extra.pdf_sha256 in rows[str(letter_id)]["pdf_sha256"]
    )


def test_the_action_page_previews_every_document(
    client: Any, delegation_campaign: Callable[[], tuple[Campaign, int]], make_official: Callable[..., User]
) -> None:
    campaign, _ = delegation_campaign()
    login(client, davis_mayor(make_official))
    page = client.get(f"/campaigns/{campaign.id}").text
    assert "The letters, exactly as they will be sent" in page and "The main letter" in page
    assert "The letter to the city&#39;s own legislators" in page
    goes_to = page[page.index("Goes to") :].split("</p>")[0]
    assert all(name in goes_to for name in DELEGATION)
    assert "Dear Assembly Member Aguiar-Curry and Senator Cabaldon:" in page and "champion SB 1256" in page


def test_a_campaign_without_variants_is_still_one_pdf_and_one_call(
    worker: Any, sendgrid: Any, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    letter_id = queue(make_campaign("SB 1256"), davis_mayor(make_official))
    worker.drain()
    letter, deliveries, files = stored(letter_id)
    assert letter.status is LetterStatus.SENT and files == []
    assert all(d.document == "" for d in deliveries)
    assert statuses_for(sendgrid, letter_id) == [202] and letter.send_attempts == 1
    [payload] = payloads_for(sendgrid, letter_id)
    assert [a["filename"] for a in payload["attachments"]] == ["SB-1256_Davis_Support.pdf"]
    assert len(payload["personalizations"]) == sum(1 for d in deliveries if d.email) + 1


def test_a_429_on_the_second_document_resends_only_it(
    worker: Any,
    sendgrid: Any,
    delegation_campaign: Callable[[], tuple[Campaign, int]],
    make_official: Callable[..., User],
) -> None:
    campaign, _ = delegation_campaign()
    sendgrid.script(202, 429, retry_after=0.2)  # the main document goes; the delegation's is asked to wait
    letter_id = queue(campaign, davis_mayor(make_official))
    worker.drain()
    letter, deliveries, _ = stored(letter_id)
    assert letter.status is LetterStatus.SENT
    assert statuses_for(sendgrid, letter_id) == [202, 429, 202]
    sent = payloads_for(sendgrid, letter_id)
    assert [p["attachments"][0]["filename"] for p in sent] == [
        "SB-1256_Davis_Support.pdf",
        "SB-1256_Davis_Support_Delegation.pdf",
    ]  # each document accepted once: the retry carried only the delegation's
    attempts = {d.name: d.attempts for d in deliveries if d.email}
    assert {attempts[name] for name in DELEGATION} == {2}
    assert {n for name, n in attempts.items() if name not in DELEGATION} == {1}
    assert all(d.status is DeliveryStatus.ACCEPTED and d.error == "" for d in deliveries if d.email)
    assert letter.send_attempts == 3


def test_a_400_on_one_document_fails_its_recipients_only_and_alerts_staff(
    worker: Any,
    sendgrid: Any,
    delegation_campaign: Callable[[], tuple[Campaign, int]],
    make_official: Callable[..., User],
) -> None:
    campaign, _ = delegation_campaign()
    sendgrid.script(202, 400)
    letter_id = queue(campaign, davis_mayor(make_official))
    worker.drain()
    letter, deliveries, _ = stored(letter_id)
    assert letter.status is LetterStatus.PARTIALLY_SENT and "(400)" in letter.error
    assert {d.name for d in deliveries if d.status is DeliveryStatus.FAILED} == DELEGATION
    assert statuses_for(sendgrid, letter_id) == [202, 400]
    alerts = [p for p in sendgrid.accepted if "staff-alert" in p.get("categories", [])]
    assert any(f"Letter {letter_id}" in p["subject"] for p in alerts)


class DiesOnTheSecondCall(MemoryMailer):
    """The provider takes the first document, then the worker dies during the second call."""

    def send(self, email: Email) -> str:
        if self.sent:
            raise WorkerKilled
        return super().send(email)


def kill_between_documents(letter_id: int, mode: str, start: Callable[..., Any], fake: Any, tmp_path: Path) -> None:
    """Leave the letter as a worker killed during the second document's call leaves it: the main document accepted
    and committed, the delegation's deliveries claimed (``sending``), no message left to finish it."""
    if mode == "simulated crash":
        drop_messages()
        with pytest.raises(WorkerKilled), session_scope() as session:
            delivery.render_letter(session, letter_id, mailer=DiesOnTheSecondCall())
        return
    fake.hang(0)  # the first call is answered at once ...
    fake.hang(600)  # ... the second is held open until the kill
    fake.script(202, 500)  # (the killed request never reached SendGrid's queue)
    process = start(
        ADVOCACY_SENDGRID_API_KEY=fake.api_key,
        ADVOCACY_SENDGRID_API_HOST=fake.url,
        ADVOCACY_SENDGRID_TIMEOUT_SECONDS="120",
    )

    def inside_second_call() -> bool:
        _, deliveries, _ = stored(letter_id)
        return any(d.document and d.status is DeliveryStatus.SENDING for d in deliveries) and not fake._hangs

    wait_for(inside_second_call, "the worker to be inside the second document's call")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    drop_messages()


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_killed_between_the_documents_is_finished_by_the_sweep_once(
    mode: str,
    stuck_after: Any,  # noqa: F811
    sendgrid: Any,
    delegation_campaign: Callable[[], tuple[Campaign, int]],
    make_official: Callable[..., User],
    worker_process: Any,  # noqa: F811
    tmp_path: Path,
    request: Any,
) -> None:
    campaign, _ = delegation_campaign()
    letter_id = queue(campaign, davis_mayor(make_official))
    kill_between_documents(letter_id, mode, worker_process, sendgrid, tmp_path)
    letter, deliveries, files = stored(letter_id)
    assert letter.status is LetterStatus.RENDERED and len(files) == 1
    assert {d.status for d in deliveries if d.email and not d.document} == {DeliveryStatus.ACCEPTED}
    assert {d.status for d in deliveries if d.document} == {DeliveryStatus.SENDING}

    backdate(letter_id)
    assert run_sweep()["letters"] >= 1
    request.getfixturevalue("worker").drain()
    letter, deliveries, _ = stored(letter_id)
    assert letter.status is LetterStatus.SENT
    assert all(d.status is DeliveryStatus.ACCEPTED for d in deliveries if d.email)
    filenames = [p["attachments"][0]["filename"] for p in payloads_for(sendgrid, letter_id)]
    delegation_sends = filenames.count("SB-1256_Davis_Support_Delegation.pdf")
    main_sends = filenames.count("SB-1256_Davis_Support.pdf")
    # The sweep finished the delegation's document exactly once and never repeated the main one (in the simulated
    # crash the main document went to the in-memory mailer, not to the fake).
    assert delegation_sends == 1 and main_sends == (1 if mode != "simulated crash" else 0)
    assert {d.attempts for d in deliveries if d.document} == {2}


def test_a_delegation_is_addressed_by_name_when_small_and_together_when_large(loaded_data: Any) -> None:
    from advocacy.directory.service import city_delegation
    from advocacy.letters.compose import people_addressee
    from tests.letters.conftest import LOS_ANGELES, SACRAMENTO, city_by_geoid

    with session_scope() as session:
        sacramento = city_by_geoid(session, SACRAMENTO)
        three = people_addressee([m.legislator for m in city_delegation(session, sacramento.id or 0)], sacramento)
        los_angeles = city_by_geoid(session, LOS_ANGELES)
        many = people_addressee([m.legislator for m in city_delegation(session, los_angeles.id or 0)], los_angeles)
    assert three.name == "The Honorable Maggy Krell" and three.role_line == "Member of the Assembly, District 6"
    assert three.also == [
        ("The Honorable Stephanie Nguyen", "Member of the Assembly, District 10"),
        ("The Honorable Angelique Ashby", "Member of the Senate, District 8"),
    ]
    assert three.salutation == "Dear Assembly Member Krell, Assembly Member Nguyen, and Senator Ashby:"
    assert three.address_lines == ["1021 O Street", "Sacramento, CA 95814"]
    assert many.name == "The Honorable Members of the Legislature" and many.also == []
    assert many.role_line == "Representing the City of Los Angeles"
    assert many.salutation == "Dear Assembly Members and Senators:"


def test_a_placeholder_left_in_a_group_variant_blocks_sending(
    make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    from advocacy.letters.service import LetterError

    campaign = make_campaign("SB 1256")
    with session_scope() as session:
        staff = create_user(session, role=Role.STAFF)
        version = templates_store.create_template(
            session,
            name=f"Unfinished {uuid.uuid4().hex[:8]}",
            kind="support",
            source="<p>Our city asks you to support {{ bill.label }}: [CITY-SPECIFIC IMPACT].</p>",
            user=staff,
        )
        row = session.get(Campaign, campaign.id)
        assert row is not None
        variants.set_variants(session, row, TargetGroup.OWN_LEGISLATORS, [version.id or 0])
    mayor = davis_mayor(make_official)
    with session_scope() as session, pytest.raises(LetterError, match=r"\[CITY-SPECIFIC IMPACT\]"):
        send_letter(session, campaign.id or 0, mayor, "")
    with session_scope() as session:
        assert session.exec(select(Letter).where(Letter.campaign_id == campaign.id)).first() is None
