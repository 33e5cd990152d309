"""Signed links in campaign e-mails: the one-click action link, the unsubscribe link, the re-confirm link.

A token is ``<numbers>.<signature>``: the numbers it binds (official, campaign, expiry …) in the clear, and an
HMAC-SHA256 over the link's purpose and those numbers, keyed from ``settings.secret_key``. A token made for one
purpose never verifies for another, and changing any number breaks the signature. Nothing is stored: rotating
the secret key invalidates every link (alerts are resent easily; unsubscribing is also possible from the page).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from advocacy.settings import get_settings

SIGNATURE_BYTES = 18  # 144 bits: unguessable, and the link stays short enough for any mail client
# Pages opened with a link carry its token in their URL: none may hand it on as a Referer (the bill's page on
# leginfo, the Position Letter Portal), and no shared cache or search engine may keep them.
LINK_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


class LinkError(ValueError):
    """A link that is malformed, forged, made for something else, or expired."""


def _key() -> bytes:
    # A key of its own, derived from the app secret, so these signatures cannot collide with anything else signed.
    return hmac.new(get_settings().secret_key.encode(), b"advocacy.campaigns.links", hashlib.sha256).digest()


def _signature(purpose: str, payload: str) -> str:
    digest = hmac.new(_key(), f"{purpose}:{payload}".encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign(purpose: str, *numbers: int) -> str:
    payload = ".".join(str(int(n)) for n in numbers)
    return f"{payload}.{_signature(purpose, payload)}"


def verify(purpose: str, token: str, count: int) -> tuple[int, ...]:
    """The ``count`` numbers of a genuine ``purpose`` token; ``LinkError`` otherwise."""
    payload, _, signature = token.rpartition(".")
    parts = payload.split(".")
    if len(parts) != count or not all(p.isdigit() and len(p) <= 15 for p in parts):
        raise LinkError("This link is not complete. Copy the whole link from the e-mail.")
    if not hmac.compare_digest(signature, _signature(purpose, payload)):
        raise LinkError("This link is not valid. Copy the whole link from the e-mail.")
    return tuple(int(p) for p in parts)


def epoch(moment: datetime) -> int:
    """A stored naive-UTC time as Unix seconds."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def action_token(user_id: int, campaign_id: int, expires: datetime) -> str:
    """The one-click link of an action alert: this official, this campaign, until ``expires`` (the deadline)."""
    return sign("act", user_id, campaign_id, epoch(expires))


def read_action_token(token: str, now: datetime) -> tuple[int, int, datetime]:
    user_id, campaign_id, expires = verify("act", token, 3)
    if now >= from_epoch(expires):
        raise LinkError("This link has expired: the campaign's deadline has passed.")
    return user_id, campaign_id, from_epoch(expires)


def unsubscribe_token(user_id: int) -> str:
    return sign("unsubscribe", user_id)


def read_unsubscribe_token(token: str) -> int:
    return verify("unsubscribe", token, 1)[0]


def reconfirm_token(request_id: int, user_id: int, expires: datetime) -> str:
    return sign("reconfirm", request_id, user_id, epoch(expires))


def read_reconfirm_token(token: str, now: datetime) -> tuple[int, int, datetime]:
    request_id, user_id, expires = verify("reconfirm", token, 3)
    if now >= from_epoch(expires):
        raise LinkError("This link has expired. Open the campaign from your account to write the new letter.")
    return request_id, user_id, from_epoch(expires)
