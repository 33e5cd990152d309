"""Letters follow the bill. When staff record an amendment (a new version date) or a move to another committee,
each active campaign on the bill opens its next stage (``campaigns.service.stage_of``): its letters written for an
earlier stage are out of date (committees read only letters about the current version, each committee must get
its own, DOMAIN.md §1.4), and each out-of-date letter's signer is e-mailed a link to re-confirm the letter
re-rendered for the new committee and version. Nothing is sent again until the signer presses the button: the
re-confirm page's POST calls ``letters.service.send_letter`` as that signer, which also marks the old letter
superseded. A letter still held for league review at the past stage (``awaiting_approval``) is superseded at once
(it would never be approved as it is; its review leaves the queue), and its signer is asked to re-confirm too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import User
from advocacy.campaigns import links
from advocacy.campaigns.alerts import plan_of, start_run
from advocacy.campaigns.console_models import CampaignStage, Hearing, ReconfirmRequest, RunKind
from advocacy.campaigns.hearings import deadline_info, next_hearing
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.campaigns.service import Stage, stage_of
from advocacy.db import utcnow
from advocacy.directory.models import Bill, City
from advocacy.letters.models import Letter, LetterStatus

#: Letters that went (or are going) to the committee of their stage: once the stage is past, they are out of date.
SENT_STATES = (LetterStatus.QUEUED, LetterStatus.RENDERED, LetterStatus.SENT, LetterStatus.PARTIALLY_SENT)
#: A city with a letter in one of these at the current stage has answered it (held: its signer pressed Send).
ANSWERED_STATES = (*SENT_STATES, LetterStatus.AWAITING_APPROVAL)


class ReconfirmError(ValueError):
    """A re-confirm link that cannot be used (expired, done, the bill moved on again); nothing was changed."""


def current_stage_row(session: Session, campaign_id: int) -> CampaignStage | None:
    return session.exec(
        select(CampaignStage)
        .where(CampaignStage.campaign_id == campaign_id, col(CampaignStage.closed_at).is_(None))
        .order_by(col(CampaignStage.id).desc())
    ).first()


def stages_of(session: Session, campaign_id: int) -> list[CampaignStage]:
    return list(
        session.exec(
            select(CampaignStage).where(CampaignStage.campaign_id == campaign_id).order_by(col(CampaignStage.id))
        ).all()
    )


def open_stage(session: Session, campaign: Campaign, stage: Stage, bill: Bill, reason: str) -> CampaignStage:
    """Record ``stage`` as the campaign's current one (closing the previous); the caller commits."""
    now = utcnow()
    previous = current_stage_row(session, campaign.id or 0)
    if previous is not None:
        if previous.stage_key == stage.key:
            return previous
        previous.closed_at = now
        session.add(previous)
    plan = plan_of(session, campaign.id or 0)
    row = session.exec(
        select(CampaignStage).where(CampaignStage.campaign_id == campaign.id, CampaignStage.stage_key == stage.key)
    ).first() or CampaignStage(campaign_id=campaign.id or 0, stage_key=stage.key)
    row.label, row.reason, row.opened_at, row.closed_at = stage.label[:200], reason[:300], now, None
    row.committee_id = stage.committee.id if stage.committee else None
    row.bill_version_date = bill.version_date
    row.hearing_id = plan.hearing_id if plan else None
    row.deadline = campaign.deadline
    session.add(row)
    session.flush()
    return row


def _follow_hearing(session: Session, campaign: Campaign, stage: Stage) -> None:
    """A new committee means a new hearing and deadline: the committee's next hearing, if staff recorded one."""
    plan = plan_of(session, campaign.id or 0)
    if plan is None:
        return
    hearing = session.get(Hearing, plan.hearing_id) if plan.hearing_id else None
    committee_id = stage.committee.id if stage.committee else None
    if hearing is not None and hearing.committee_id == committee_id:
        return  # amended in the same committee: same hearing, same deadline
    hearing = next_hearing(session, committee_id, utcnow().date()) if committee_id else None
    plan.hearing_id = hearing.id if hearing else None
    session.add(plan)
    if not plan.deadline_overridden:
        campaign.deadline = deadline_info(session, hearing).deadline if hearing else None
        session.add(campaign)


def out_of_date_letters(
    session: Session, campaign_id: int, stage_key: str, *, include_held: bool = False
) -> list[Letter]:
    """Letters of earlier stages that went out (``include_held``: or still wait for league review), for cities
    without an answer at ``stage_key`` yet; the newest per city."""
    earlier_states = ANSWERED_STATES if include_held else SENT_STATES
    answered = select(Letter.city_id).where(
        Letter.campaign_id == campaign_id, Letter.stage == stage_key, col(Letter.status).in_(ANSWERED_STATES)
    )
    letters = session.exec(
        select(Letter)
        .where(
            Letter.campaign_id == campaign_id,
            Letter.stage != stage_key,
            col(Letter.status).in_(earlier_states),
            col(Letter.city_id).not_in(answered),
        )
        .order_by(col(Letter.created_at).desc(), col(Letter.id).desc())
    ).all()
    latest: dict[int, Letter] = {}
    for letter in letters:
        latest.setdefault(letter.city_id, letter)
    return list(latest.values())


def follow_bill(session: Session, bill: Bill, user: User | None) -> list[str]:
    """After ``bill``'s version or committee changed (flushed, not committed): open each active campaign's next
    stage, ask for re-confirmations, queue their e-mails. Returns one line per campaign that moved."""
    from advocacy.campaigns import approval
    from advocacy.letters import service as letters

    moved = []
    campaigns = session.exec(
        select(Campaign).where(Campaign.bill_id == bill.id, Campaign.status == CampaignStatus.ACTIVE)
    ).all()
    for campaign in campaigns:
        stage = stage_of(session, campaign, bill)
        current = current_stage_row(session, campaign.id or 0)
        if current is not None and current.stage_key == stage.key:
            continue
        _follow_hearing(session, campaign, stage)
        open_stage(session, campaign, stage, bill, reason=_reason(current, stage, bill))
        requests = _request_reconfirmations(session, campaign, stage.key)
        # After the requests (which read the held letters as their signers' answers): held letters of the past
        # stage are superseded and leave the approval queue.
        approval.close_superseded(session, letters.supersede_held(session, campaign.id or 0, stage.key))
        if requests:
            start_run(session, campaign, RunKind.RECONFIRM, user, stage_key=stage.key)
        accounts.record(
            session, user, "campaign.stage", f"campaign:{campaign.id}", {"stage": stage.key, "reconfirm": requests}
        )
        moved.append(f"{campaign.title}: now {stage.label} ({requests} letter(s) to re-confirm)")
    return moved


def _reason(previous: CampaignStage | None, stage: Stage, bill: Bill) -> str:
    if previous is None:
        return "stage recorded"
    if previous.committee_id == (stage.committee.id if stage.committee else None):
        return f"bill amended ({bill.version_date.isoformat() if bill.version_date else 'new version'})"
    return f"bill moved to {stage.label}"


def _request_reconfirmations(session: Session, campaign: Campaign, stage_key: str) -> int:
    created = 0
    for letter in out_of_date_letters(session, campaign.id or 0, stage_key, include_held=True):
        signer = session.get(User, letter.signer_id) if letter.signer_id else None
        if signer is None or not signer.active:
            continue
        exists = session.exec(
            select(ReconfirmRequest).where(
                ReconfirmRequest.old_letter_id == letter.id, ReconfirmRequest.stage_key == stage_key
            )
        ).first()
        if exists is None:
            session.add(
                ReconfirmRequest(
                    campaign_id=campaign.id or 0,
                    city_id=letter.city_id,
                    old_letter_id=letter.id or 0,
                    signer_id=signer.id or 0,
                    stage_key=stage_key,
                )
            )
            created += 1
    session.flush()
    return created


# ----------------------------------------------------------------------------------------------- the signer's page


@dataclass
class Reconfirmation:
    request: ReconfirmRequest
    signer: User
    campaign: Campaign
    city: City
    old_letter: Letter
    current: bool  # the bill is still at the stage the request was made for
    expires: datetime  # when the re-confirm link stops working


def check_reconfirm(session: Session, token: str) -> Reconfirmation:
    try:
        request_id, user_id, expires = links.read_reconfirm_token(token, utcnow())
    except links.LinkError as exc:
        raise ReconfirmError(str(exc)) from None
    request = session.get(ReconfirmRequest, request_id)
    signer = session.get(User, user_id)
    if request is None or signer is None or request.signer_id != user_id or not signer.active:
        raise ReconfirmError("This link is not valid any more.")
    campaign = session.get(Campaign, request.campaign_id)
    city = session.get(City, request.city_id)
    old = session.get(Letter, request.old_letter_id)
    assert campaign is not None and city is not None and old is not None  # foreign keys
    current = stage_of(session, campaign).key == request.stage_key
    return Reconfirmation(request, signer, campaign, city, old, current, expires)


def follow_path(found: Reconfirmation, rest: str = "/letter") -> str:
    """Where the signer follows the re-confirmed letter (``rest=""``: the campaign's page): under the campaign's
    action link, a capability for this signer and campaign (no login), valid as long as the re-confirm link."""
    from advocacy.campaigns.inbox import action_path

    return action_path(found.signer.id or 0, found.campaign.id or 0, found.expires, rest)


def reconfirm(session: Session, token: str) -> Letter:
    """The signer's press: send the letter for the new stage, with the old letter's local note. Idempotent."""
    from advocacy.letters import service as letters

    found = check_reconfirm(session, token)
    if found.request.confirmed_letter_id:
        letter = session.get(Letter, found.request.confirmed_letter_id)
        assert letter is not None
        return letter
    if not found.current:
        raise ReconfirmError("The bill has moved on again since this e-mail: open the campaign for the newest letter.")
    letter = letters.send_letter(session, found.campaign.id or 0, found.signer, found.old_letter.local_note)
    request = session.get(ReconfirmRequest, found.request.id)
    assert request is not None
    request.confirmed_letter_id, request.confirmed_at = letter.id, utcnow()
    session.add(request)
    accounts.record(session, found.signer, "letter.reconfirm", f"letter:{letter.id}", {"old": found.old_letter.id})
    session.commit()
    return letter
