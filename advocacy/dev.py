"""Development tools: ``/dev/outbox`` shows the mail ``OutboxMailer`` wrote instead of sending it.

Available only in embedded mode (no ``ADVOCACY_BROKER_URL``) and never in production; everywhere else every
``/dev`` URL answers 404 as if it did not exist.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup, escape

from advocacy.accounts.auth import PUBLIC
from advocacy.settings import Settings, get_settings

# How many messages the list shows (newest first); the folder of a long-running dev server can grow large.
LIST_LIMIT = 200

# Exactly the names OutboxMailer writes: one path segment, no dots to climb with, ending in .eml.
_MESSAGE_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[A-Za-z0-9-]+\.eml$")
_URL = re.compile(r"https?://[^\s<>\"']+")


def outbox_enabled(settings: Settings) -> bool:
    return settings.embedded_broker and not settings.is_production


def _outbox_dir() -> Path:
    settings = get_settings()
    if not outbox_enabled(settings):
        raise NotFoundException()
    return settings.outbox_dir


def _message_path(name: str) -> Path:
    folder = _outbox_dir()
    if not _MESSAGE_NAME.fullmatch(name):
        raise NotFoundException("No such message in the outbox.")
    path = folder / name
    if path.resolve().parent != folder.resolve() or not path.is_file():
        raise NotFoundException("No such message in the outbox.")
    return path


def _parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # the default policy makes EmailMessage objects
    return message


@dataclass
class OutboxEntry:
    name: str
    date: str
    to: str
    subject: str
    attachments: list[str]


def _size(part: EmailMessage) -> int:
    content = part.get_payload(decode=True)
    return len(content) if isinstance(content, bytes) else 0


def linkify(text: str) -> Markup:
    """Escape ``text`` and make every http(s) URL in it a link (trailing punctuation stays outside)."""
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)]}")
        parts.append(str(escape(text[position : match.start()])))
        parts.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        position = match.start() + len(url)
    parts.append(str(escape(text[position:])))
    return Markup("".join(parts))  # noqa: S704  (every piece above was escaped)


# guards=[PUBLIC]: a local development tool that exists only in embedded, non-production mode (see
# outbox_enabled); there are no accounts to check on a laptop's demo, and production answers 404.
@get("/dev/outbox", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def outbox_list() -> Template:
    folder = _outbox_dir()
    names = sorted((p.name for p in folder.glob("*.eml") if _MESSAGE_NAME.fullmatch(p.name)), reverse=True)
    entries = []
    for name in names[:LIST_LIMIT]:
        message = _parse(folder / name)
        entries.append(
            OutboxEntry(
                name=name,
                date=str(message["Date"] or ""),
                to=str(message["To"] or ""),
                subject=str(message["Subject"] or ""),
                attachments=[a.get_filename() or "(unnamed)" for a in message.iter_attachments()],
            )
        )
    return Template(
        "pages/dev_outbox.html",
        context={"entries": entries, "total": len(names), "limit": LIST_LIMIT, "folder": str(folder)},
    )


@get("/dev/outbox/{name:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def outbox_message(name: FromPath[str]) -> Template:
    message = _parse(_message_path(name))
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments: list[dict[str, Any]] = [
        {
            "index": index,
            "filename": part.get_filename() or f"attachment-{index}",
            "type": part.get_content_type(),
            "size": _size(part),
        }
        for index, part in enumerate(message.iter_attachments())
    ]
    return Template(
        "pages/dev_outbox_message.html",
        context={
            "name": name,
            "subject": str(message["Subject"] or "(no subject)"),
            "headers": [(key, str(value)) for key, value in message.items()],
            "text": linkify(text_part.get_content()) if text_part is not None else None,
            "html": html_part.get_content() if html_part is not None else None,
            "attachments": attachments,
        },
    )


@get("/dev/outbox/{name:str}/attachments/{index:int}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def outbox_attachment(name: FromPath[str], index: FromPath[int]) -> Response[bytes]:
    parts = list(_parse(_message_path(name)).iter_attachments())
    if not 0 <= index < len(parts):
        raise NotFoundException("No such attachment.")
    part = parts[index]
    filename = part.get_filename() or f"attachment-{index}"
    content = part.get_payload(decode=True)
    return Response(
        content if isinstance(content, bytes) else b"",
        media_type=part.get_content_type(),
        headers={
            # Always a download, never rendered here: an HTML attachment must not run on this site's origin.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


route_handlers = [outbox_list, outbox_message, outbox_attachment]
