"""What the links in campaign e-mails do: the one-click action link and the unsubscribe link.

The action link is a capability, not a login: bound to one official and one campaign and valid until the deadline,
it opens that campaign's action page for that official (read the letter, prepare it, request a signature or Send,
follow the city's letter for the campaign and open its PDF) under ``/act/{token}/…``, and nothing else: no session
is started, so every other page and the API still ask for a normal login. Its GET pages change nothing (mail
scanners follow links); Send is a POST with a CSRF token. The unsubscribe link (RFC 8058) works with one POST and
no login: from then on the official gets no action alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import Role, User
from advocacy.campaigns import links
from advocacy.campaigns.console_models import AlertOptOut
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.db import utcnow
from advocacy.letters.models import Letter


@dataclass(frozen=True)
class ActionLink:
    """What a genuine action link lets its holder do: act for ``user`` on ``campaign``, under ``base``."""

    user: User
    campaign: Campaign
    token: str

    @property
    def base(self) -> str:
        """The path every page the link opens lives under (the only paths the link is good for)."""
        return f"/act/{self.token}"

    @property
    def path(self) -> str:
        """The campaign's action page for a logged-in official (the link's holder once they log in)."""
        return f"/campaigns/{self.campaign.id}"


def action_path(user_id: int, campaign_id: int, expires: datetime, rest: str = "") -> str:
    """A path under a freshly signed action link (``rest``: e.g. ``/letter``)."""
    return f"/act/{links.action_token(user_id, campaign_id, expires)}{rest}"


def check_action_link(session: Session, token: str) -> ActionLink:
    """The official and campaign of a genuine, unexpired link to an open campaign; ``links.LinkError`` otherwise."""
    user_id, campaign_id, _ = links.read_action_token(token, utcnow())
    user = session.get(User, user_id)
    campaign = session.get(Campaign, campaign_id)
    if user is None or not user.active or user.role is not Role.OFFICIAL or user.city_id is None:
        raise links.LinkError("This link is not valid any more. Log in to open the campaign.")
    if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
        raise links.LinkError("This campaign is closed.")
    return ActionLink(user, campaign, token)


def followed_letter(session: Session, link: ActionLink) -> Letter | None:
    """The letter the link follows: the official's city's letter for the campaign at the bill's current stage, else
    its newest one for the campaign (a letter the bill has since outdated); ``None`` before the city acts."""
    from advocacy.campaigns.service import stage_of
    from advocacy.letters.service import find_letter

    city_id, campaign_id = link.user.city_id or 0, link.campaign.id or 0
    current = find_letter(session, campaign_id, city_id, stage_of(session, link.campaign).key)
    if current is not None:
        return current
    return session.exec(
        select(Letter)
        .where(Letter.campaign_id == campaign_id, Letter.city_id == city_id)
        .order_by(col(Letter.created_at).desc(), col(Letter.id).desc())
    ).first()


def unsubscribe(session: Session, token: str, method: str) -> User:
    """Stop action alerts to the link's official (idempotent). Commits."""
    user = session.get(User, links.read_unsubscribe_token(token))
    if user is None:
        raise links.LinkError("This link is not valid any more.")
    if is_opted_out(session, user.id or 0):
        return user
    session.add(AlertOptOut(user_id=user.id or 0, email=user.email, method=method[:16]))
    accounts.record(session, user, "alerts.unsubscribe", f"user:{user.id}", {"method": method})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # two presses at once: the first one did it
    return user


def resubscribe(session: Session, user: User) -> None:
    """The official asks for alerts again (from the unsubscribe page). Commits."""
    row = session.exec(select(AlertOptOut).where(AlertOptOut.user_id == user.id)).first()
    if row is not None:
        session.delete(row)
        accounts.record(session, user, "alerts.resubscribe", f"user:{user.id}")
        session.commit()


def is_opted_out(session: Session, user_id: int) -> bool:
    return session.exec(select(AlertOptOut).where(AlertOptOut.user_id == user_id)).first() is not None
