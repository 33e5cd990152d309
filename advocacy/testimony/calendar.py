"""Hearing times in Pacific time, and the calendar invite (.ics) an official's sign-up e-mails carry.

Hearings are announced as a Pacific date and wall-clock time; only here do they become instants. The invite keeps
the wall-clock time with ``TZID=America/Los_Angeles`` and embeds that zone's VTIMEZONE (its rules for the hearing's
year), so a calendar shows 9:00 a.m. in March after the change to daylight time and in November after the change
back. One sign-up has one UID for life; every change is sent again with a higher SEQUENCE, as METHOD:REQUEST, or
METHOD:CANCEL when the sign-up ends (RFC 5546).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

CALIFORNIA = ZoneInfo("America/Los_Angeles")
TZID = "America/Los_Angeles"
PRODID = "-//League of California Cities//advocacy testimony//EN"
# Committees do not announce when a bill will be reached; the invite blocks two hours from the hearing's start.
EVENT_LENGTH = timedelta(hours=2)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

METHOD_REQUEST = "REQUEST"
METHOD_CANCEL = "CANCEL"


def parse_clock(text: str) -> time | None:
    """ "09:30" → 9:30; empty (time not announced) or unreadable → None."""
    hours, _, minutes = text.strip().partition(":")
    try:
        return time(int(hours), int(minutes or 0)) if hours else None
    except ValueError:
        return None


def hearing_start(hearing_date: date, hearing_time: str) -> datetime | None:
    """The hearing's start as an aware Pacific datetime, or None while its time is not announced."""
    at = parse_clock(hearing_time)
    return datetime.combine(hearing_date, at, tzinfo=CALIFORNIA) if at else None


def pacific_to_utc_naive(day: date, at: time) -> datetime:
    """A Pacific wall-clock time as the project stores times: naive UTC."""
    return datetime.combine(day, at, tzinfo=CALIFORNIA).astimezone(UTC).replace(tzinfo=None)


def to_pacific(stored: datetime) -> datetime:
    """A stored naive-UTC time in Pacific time."""
    return stored.replace(tzinfo=UTC).astimezone(CALIFORNIA)


def clock(at: time) -> str:
    """ "9:30 a.m.", "12:00 p.m."."""
    return f"{at.hour % 12 or 12}:{at.minute:02d} {'a.m.' if at.hour < 12 else 'p.m.'}"


def long_date(day: date) -> str:
    """ "Wednesday, March 17, 2027"."""
    return f"{WEEKDAYS[day.weekday()]}, {day:%B} {day.day}, {day.year}"


def format_pacific(stored: datetime | None) -> str:
    """ "Tuesday, March 16, 2027, 5:00 p.m. Pacific"."""
    if stored is None:
        return ""
    local = to_pacific(stored)
    return f"{long_date(local.date())}, {clock(local.time())} Pacific"


@dataclass(frozen=True)
class Invite:
    """What one calendar invite says."""

    uid: str
    sequence: int
    method: str  # METHOD_REQUEST or METHOD_CANCEL
    summary: str
    description: str
    location: str
    hearing_date: date
    hearing_time: str  # "HH:MM" Pacific; empty: an all-day event on the hearing date
    organizer_email: str
    organizer_name: str
    attendee_email: str
    attendee_name: str
    tentative: bool = False  # a lead slot awaiting confirmation, or the waiting list
    stamp: datetime | None = None  # naive UTC; default now


def signup_uid(signup_id: int, domain: str) -> str:
    """The invite's UID: stable for the sign-up's whole life, so every update replaces the same calendar entry."""
    return f"testimony-signup-{signup_id}@{domain or 'advocacy.invalid'}"


def build_invite(invite: Invite) -> bytes:
    """The ``text/calendar`` body of ``invite``."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", invite.method)

    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    stamp = invite.stamp or datetime.now(UTC).replace(tzinfo=None)
    event.add("dtstamp", stamp.replace(tzinfo=UTC))
    start = hearing_start(invite.hearing_date, invite.hearing_time)
    if start is None:
        event.add("dtstart", invite.hearing_date)  # VALUE=DATE: the day, until the time is announced
        event.add("dtend", invite.hearing_date + timedelta(days=1))
    else:
        event.add("dtstart", start)
        event.add("dtend", start + EVENT_LENGTH)
    event.add("summary", invite.summary)
    event.add("description", invite.description)
    if invite.location:
        event.add("location", invite.location)
    if invite.method == METHOD_CANCEL:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "TENTATIVE" if invite.tentative else "CONFIRMED")
    event.add("transp", "OPAQUE")

    organizer = vCalAddress(f"mailto:{invite.organizer_email}")
    organizer.params["cn"] = vText(invite.organizer_name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{invite.attendee_email}")
    attendee.params["cn"] = vText(invite.attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED" if invite.method == METHOD_REQUEST else "DECLINED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    if start is not None:
        # The zone's rules for the hearing's year only (a few lines instead of every transition since 1970), before
        # the event that refers to it, where every calendar program looks for it.
        year = invite.hearing_date.year
        calendar.add_component(Timezone.from_tzid(TZID, first_date=date(year, 1, 1), last_date=date(year + 1, 1, 1)))
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
