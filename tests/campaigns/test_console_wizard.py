"""The campaign wizard through its pages (bill → letter → recipients → audience → deadline → preview → launch),
message variants and their routing, chamber targets, the CitiPAC ask kept off the letter, and the campaign page."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from advocacy.accounts.models import User
from advocacy.campaigns import audience, templates_store, variants, wizard
from advocacy.campaigns.alerts import plan_of
from advocacy.campaigns.chambers import chamber_recipients
from advocacy.campaigns.committee_rules import seed_rules
from advocacy.campaigns.console_models import AlertRun, CampaignStage
from advocacy.campaigns.deadlines import to_local
from advocacy.campaigns.hearings import HearingInput, create_hearing
from advocacy.campaigns.models import Campaign, CampaignStatus, Position, TargetGroup
from advocacy.campaigns.service import stage_of
from advocacy.db import session_scope, utcnow
from advocacy.letters import delivery
from advocacy.letters import service as letters
from advocacy.letters.models import Letter
from tests.campaigns.conftest import audience_size, bill_by_label, city_named, committee_named
from tests.helpers import csrf_token, login
from tests.letters.test_flow import pdf_text

BODY = "<p>Variant {{ 'A' }}: the {{ letterhead.official_name }} supports {{ bill.label }}.</p>"


def _template(staff: User, text: str, kind: str = "support") -> int:
    with session_scope() as session:
        version = templates_store.create_template(
            session, name=f"Variant {uuid.uuid4().hex[:8]}", kind=kind, source=text, user=staff
        )
        return version.id or 0


def test_the_wizard_walks_from_bill_to_launch(client: Any, staff: User, make_official: Callable[..., User]) -> None:
    make_official("Loyalton", may_sign=True)
    login(client, staff)
    token = csrf_token(client)
    with session_scope() as session:
        seed_rules(session)  # Assembly Local Government: 5 p.m. Thursday before the hearing
        bill = bill_by_label(session, "SB 1256")
        committee = committee_named(session, "Assembly", "Local Government")
        hearing = create_hearing(
            session, HearingInput(committee.id or 0, date.today() + timedelta(days=30), "13:30", "1100"), staff
        )
        hearing_id = hearing.id
    first = client.get(f"/console/campaigns/new?bill={bill.id}")
    assert first.status_code == 200 and "Bill and position" in first.text
    refused = client.post("/console/campaigns", data={"_csrf_token": token, "bill_id": str(bill.id)})
    assert refused.status_code == 422 and "Choose the league" in refused.text  # SB 1256 has no agenda position
    started = client.post(
        "/console/campaigns",
        data={
            "_csrf_token": token,
            "bill_id": str(bill.id),
            "position": "Support if Amended",
            "title": f"Wizard {uuid.uuid4().hex[:6]}",
            "talking_points": "One.\nTwo.",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    base = started.headers["location"].rsplit("/wizard/", 1)[0]
    campaign_id = int(base.rsplit("/", 1)[1])
    version_id = _template(staff, BODY, kind="support_if_amended")
    letter_step = client.get(f"{base}/wizard/letter")
    assert letter_step.status_code == 200 and "Letter kind" in letter_step.text
    steps = [
        ("letter", {"letter_kind": "support_if_amended", "groups_shown": "1", "variants_committee": str(version_id)}),
        ("targets", {"targets": ["committee", "author", "own_legislators"]}),
        ("audience", {"cities": "Loyalton", "roles": ["mayor"]}),
        ("deadline", {"hearing_id": str(hearing_id), "requires_approval": "1"}),
    ]
    for step, fields in steps:
        answer = client.post(f"{base}/wizard/{step}", data={"_csrf_token": token, **fields}, follow_redirects=False)
        assert answer.status_code == 303, (step, answer.text)
    bad = client.post(f"{base}/wizard/targets", data={"_csrf_token": token, "targets": ["governor"]})
    assert bad.status_code == 422 and "Only requests for signature or veto" in bad.text
    preview = client.get(f"{base}/wizard/preview")
    assert preview.status_code == 200
    assert "may not be listed" in preview.text  # Support if Amended at a committee: the listing warning
    assert "Variant A: the City of Loyalton supports SB 1256" in html.unescape(preview.text)
    expected = audience_size(campaign_id)
    assert re.search(rf"{expected}\s+official", preview.text)
    launched = client.post(
        f"/console/campaigns/{campaign_id}/launch", data={"_csrf_token": token}, follow_redirects=False
    )
    assert launched.status_code == 303, launched.text
    page = client.get(launched.headers["location"])
    assert page.status_code == 200 and "Launched." in page.text and "Action alerts" in page.text
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.status is CampaignStatus.ACTIVE
        assert campaign.letter_kind == "support_if_amended" and campaign.position is Position.SUPPORT_IF_AMENDED
        local = to_local(campaign.deadline) if campaign.deadline else None
        assert local is not None and local.date() < hearing.hearing_date and local.weekday() == 3  # a Thursday
        plan = plan_of(session, campaign_id)
        assert plan is not None and plan.requires_approval and not plan.citipac_ask and plan.launched_at
        assert session.exec(select(AlertRun).where(AlertRun.campaign_id == campaign_id)).first() is not None
        assert session.exec(select(CampaignStage).where(CampaignStage.campaign_id == campaign_id)).first()
    again = client.post(f"/console/campaigns/{campaign_id}/launch", data={"_csrf_token": token})
    assert again.status_code == 422 and "already launched" in again.text


def test_variants_are_routed_per_group_and_spread_across_cities(
    staff: User, make_campaign: Callable[..., Campaign]
) -> None:
    campaign = make_campaign(targets=None)
    a, b = _template(staff, BODY), _template(staff, BODY.replace("'A'", "'B'"))
    own = _template(staff, "<p>To our own delegation: {{ bill.label }}.</p>")
    with session_scope() as session:
        row = session.get(Campaign, campaign.id)
        assert row is not None
        variants.set_variants(session, row, TargetGroup.COMMITTEE, [a, b])
        variants.set_variants(session, row, TargetGroup.OWN_LEGISLATORS, [own])
        chosen = variants.variants_of(session, campaign.id or 0)
        assert [c.version.id for c in chosen[TargetGroup.COMMITTEE]] == [a, b]
        picks = {
            variants.choose(session, row, city_id, TargetGroup.COMMITTEE).version.id  # type: ignore[union-attr]
            for city_id in range(1, 40)
        }
        assert picks == {a, b}  # both variants are used across cities
        assert variants.choose(session, row, 7, TargetGroup.COMMITTEE) == variants.choose(
            session, row, 7, TargetGroup.COMMITTEE
        )  # and each city always gets the same one
        source, version_id = variants.template_source_for(session, row, 7, stage_of(session, row))
        assert version_id in (a, b) and source is not None and "Variant" in source
        yreka = city_named(session, "Yreka")
        draft = letters.draft_for(session, row, yreka, staff)
        routes = {r.group: r for r in variants.route(session, row, yreka.id or 0, list(draft.recipients))}
        assert routes[TargetGroup.OWN_LEGISLATORS].choice.version.id == own  # type: ignore[union-attr]
        assert routes[TargetGroup.COMMITTEE].choice.version.id in (a, b)  # type: ignore[union-attr]
        assert routes[TargetGroup.AUTHOR].choice is None  # no variant: the file template
        preview = wizard.preview(session, campaign.id or 0, staff, yreka.id)
        texts = {g.group: g.html for g in preview.groups}
        assert "To our own delegation: SB 1256." in texts[TargetGroup.OWN_LEGISLATORS]
        oppose = _template(staff, "<p>Oppose.</p>", kind="oppose")
        try:
            variants.set_variants(session, row, TargetGroup.COMMITTEE, [oppose])
        except variants.VariantError as exc:
            assert "not a “support” letter" in str(exc)
        else:
            raise AssertionError("a variant of another kind was accepted")
        try:
            variants.set_variants(session, row, TargetGroup.AUTHOR, [a, b, own, own])
        except variants.VariantError:
            raise AssertionError("duplicates are merged, three distinct are allowed") from None
        assert len(variants.variants_of(session, campaign.id or 0)[TargetGroup.AUTHOR]) == 3


def test_chamber_targets_add_every_member_once(staff: User, make_campaign: Callable[..., Campaign]) -> None:
    campaign = make_campaign()
    with session_scope() as session:
        wizard.update_targets(session, campaign.id or 0, ["committee", "all_senate"])
        row = session.get(Campaign, campaign.id)
        assert row is not None
        draft = letters.draft_for(session, row, city_named(session, "Yreka"), staff)
        extra = chamber_recipients(session, row, draft.recipients)
        keys = {r.key for r in draft.recipients} | {r.key for r in extra}
        assert len(keys) == len(draft.recipients) + len(extra)
        senators = {r.key for r in draft.recipients if "Senat" in r.reason} | {r.key for r in extra}
        assert (
            len(extra) + sum(1 for r in draft.recipients if r.legislator and str(r.legislator.chamber) == "Senate")
            == 40
        )
        assert all(r.reasons[0].startswith("Member of the Senate (SD ") for r in extra) and senators


def test_the_citipac_ask_is_never_on_the_letter_page(
    client: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    official = make_official("Blue Lake")
    campaign = make_campaign(cities=["Blue Lake"], citipac_ask=True)
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
        assert plan_of(session, campaign.id or 0).citipac_ask  # type: ignore[union-attr]
    login(client, official)
    page = client.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200 and "CitiPAC" not in page.text and "citipac" not in page.text.lower()
    login(client, staff)
    assert "CitiPAC ask" in client.get(f"/console/campaigns/{campaign.id}").text


def test_governor_requests_need_an_enrolled_bill(staff: User, make_official: Callable[..., User]) -> None:
    make_official("Trinidad")
    with session_scope() as session:
        enrolled = bill_by_label(session, "SB 1426")
        engrossed = bill_by_label(session, "AB 1573")
        good = wizard.start_campaign(
            session, wizard.BillStep(enrolled.id or 0, Position.REQUEST_FOR_SIGNATURE.value), staff
        )
        bad = wizard.start_campaign(session, wizard.BillStep(engrossed.id or 0, Position.REQUEST_FOR_VETO.value), staff)
        for campaign in (good, bad):
            wizard.update_audience(session, campaign.id or 0, division_ids=[], cities=["Trinidad"], roles=[])
            wizard.update_deadline(
                session, campaign.id or 0, wizard.DeadlineStep(override_date=date.today() + timedelta(days=9))
            )
        assert TargetGroup.GOVERNOR in session.get(Campaign, good.id).targets  # type: ignore[union-attr]
        assert wizard.launch_problems(session, session.get(Campaign, good.id)) == []  # type: ignore[arg-type]
        problems = wizard.launch_problems(session, session.get(Campaign, bad.id))  # type: ignore[arg-type]
        assert any("enrolled bills" in p for p in problems)


def test_audience_counts_and_roles(
    staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    mayor = make_official("Rio Dell", title="Mayor")
    council = make_official("Rio Dell", title="Council Member", may_sign=False)
    manager = make_official("Rio Dell", title="Interim City Manager", may_sign=False)
    campaign = make_campaign(cities=["Rio Dell"])

    def members() -> set[int]:
        chosen = audience.audience_of(plan_of(session, campaign.id or 0))
        return {int(i) for i in session.execute(audience.audience_select(chosen, col(User.id))).scalars()}

    with session_scope() as session:
        count = audience.count_audience(session, audience.audience_of(plan_of(session, campaign.id or 0)))
        assert count.cities == 1 and count.officials == len(members()) >= 3
        assert {mayor.id, council.id, manager.id} <= members()
        wizard.update_audience(
            session, campaign.id or 0, division_ids=[], cities=["0660900"], roles=["mayor", "city_manager"]
        )
        assert {mayor.id, manager.id} <= members() and council.id not in members()
        try:
            wizard.update_audience(session, campaign.id or 0, division_ids=[], cities=["Atlantis"], roles=[])
        except wizard.WizardError as exc:
            assert "Atlantis" in str(exc)
        else:
            raise AssertionError("an unknown city was accepted")


def test_campaign_page_shows_progress_and_time_left(
    client: Any, staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    make_official("Crescent City")
    campaign = make_campaign(cities=["Crescent City"], days=3)
    with session_scope() as session:
        wizard.launch(session, campaign.id or 0, staff)
    login(client, staff)
    page = client.get(f"/console/campaigns/{campaign.id}")
    assert page.status_code == 200
    assert re.search(r"[23] days? \d+ hours? left", page.text)
    assert "0</strong> of 1 targeted cities" in page.text
    progress = client.get(f"/console/campaigns/{campaign.id}/progress").json()
    assert progress["runs"][0]["kind"] == "launch" and progress["runs"][0]["status"] in ("queued", "sending", "done")
    assert utcnow() < (campaign.deadline or utcnow())


def test_a_letter_records_the_template_version_it_was_composed_with(
    staff: User, make_campaign: Callable[..., Campaign], make_official: Callable[..., User]
) -> None:
    campaign = make_campaign(targets=None)
    version = _template(staff, BODY)
    with session_scope() as session:
        row = session.get(Campaign, campaign.id)
        assert row is not None
        variants.set_variants(session, row, TargetGroup.COMMITTEE, [version])
        row.status = CampaignStatus.ACTIVE  # launched (without sending alerts, which this test is not about)
        session.add(row)
        session.commit()
    mayor = make_official("Yreka", may_sign=True)
    with session_scope() as session:
        letter = letters.send_letter(session, campaign.id or 0, mayor)
        assert letter.template_version_id == version
    # Staff switch the variant before a worker renders the letter: the PDF is the letter the mayor sent (its document
    # was stored at Send), and the letter records the version that PDF was made from.
    other = _template(staff, BODY.replace("Variant {{ 'A' }}", "Second wording"))
    with session_scope() as session:
        row = session.get(Campaign, campaign.id)
        assert row is not None
        variants.set_variants(session, row, TargetGroup.COMMITTEE, [other])
    with session_scope() as session:
        assert delivery.render_letter(session, letter.id or 0)
    with session_scope() as session:
        rendered = session.get(Letter, letter.id)
        assert rendered is not None and rendered.template_version_id == version != other
        text = pdf_text(delivery.storage_path(rendered.pdf_path or "").read_bytes())
        assert "Variant A" in text and "Second wording" not in text
    plain = make_campaign(targets=None)
    with session_scope() as session:
        row = session.get(Campaign, plain.id)
        assert row is not None
        row.status = CampaignStatus.ACTIVE
        session.add(row)
        session.commit()
        assert letters.send_letter(session, plain.id or 0, mayor).template_version_id is None  # the file template
