"""What the links in campaign e-mails do: the one-click action link and the unsubscribe link.

The action link is bound to one official and one campaign and valid until the deadline. Its GET page changes
nothing (mail scanners follow links); its button logs the official in and opens the campaign's action page. The
unsubscribe link (RFC 8058) works with one POST and no login: from then on the official gets no action alerts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from advocacy.accounts import service as accounts
from advocacy.accounts.models import Role, User
from advocacy.campaigns import links
from advocacy.campaigns.console_models import AlertOptOut
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.db import utcnow


@dataclass(frozen=True)
class ActionLink:
    user: User
    campaign: Campaign

    @property
    def path(self) -> str:
        return f"/campaigns/{self.campaign.id}"


def check_action_link(session: Session, token: str) -> ActionLink:
    """The official and campaign of a genuine, unexpired link to an open campaign; ``links.LinkError`` otherwise."""
    user_id, campaign_id, _ = links.read_action_token(token, utcnow())
    user = session.get(User, user_id)
    campaign = session.get(Campaign, campaign_id)
    if user is None or not user.active or user.role is not Role.OFFICIAL:
        raise links.LinkError("This link is not valid any more. Log in to open the campaign.")
    if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
        raise links.LinkError("This campaign is closed.")
    return ActionLink(user, campaign)


def use_action_link(session: Session, token: str, current: User | None) -> tuple[ActionLink, str | None]:
    """The button on the link's page: ``(link, session token)``; no new session if already logged in as them."""
    link = check_action_link(session, token)
    if current is not None and current.id == link.user.id:
        return link, None
    session_token = accounts.start_session(session, link.user)  # commits (with its audit event)
    accounts.record(session, link.user, "campaign.alert_link", f"campaign:{link.campaign.id}")
    session.commit()
    return link, session_token


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
