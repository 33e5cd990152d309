"""``advocacy demo``: plainly fictional people in real cities and divisions, so the toolkit can be tried at once.

Every person is invented (surnames Example, Sample, Demo) and every address is on ``demo.example``, a reserved
domain that can never receive mail. Running it again creates nothing new.

Other packages add their own demo content (campaigns, letters…) by listing a ``"module:function"`` in
``EXTENSIONS``; each function is called as ``fn(session, summary)`` after the people exist and reports what it
did with ``summary.add_section(...)``. It must be idempotent too.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from advocacy.accounts import service
from advocacy.accounts.models import Role, User
from advocacy.directory.models import City, Division
from advocacy.settings import get_settings

DEMO_DOMAIN = "demo.example"

# (city name, mayor's name, council member's name): cities across eight Regional Divisions.
DEMO_CITIES: list[tuple[str, str, str]] = [
    ("Sacramento", "Alex Example", "Jordan Sample"),
    ("Fresno", "Morgan Example", "Riley Sample"),
    ("Riverside", "Taylor Example", "Casey Sample"),
    ("Long Beach", "Jamie Example", "Drew Sample"),
    ("Oakland", "Robin Example", "Skyler Sample"),
    ("San Diego", "Cameron Example", "Reese Sample"),
    ("Santa Rosa", "Harper Example", "Emerson Sample"),
    ("Irvine", "Rowan Example", "Finley Sample"),
]
# First names of the regional managers, one per division in the order of their slugs.
MANAGER_FIRST_NAMES = [
    "Avery",
    "Blake",
    "Charlie",
    "Dakota",
    "Eden",
    "Frankie",
    "Gray",
    "Hayden",
    "Indigo",
    "Jessie",
    "Kendall",
    "Lennon",
    "Marlowe",
    "Noel",
    "Oakley",
    "Peyton",
    "Quincy",
    "Remy",
    "Sage",
    "Tatum",
]

# "module:function" names of other packages' demo content, called in order after the people are created.
EXTENSIONS: list[str] = [
    "advocacy.campaigns.demo:add_to_demo",
    "advocacy.campaigns.console_demo:add_to_demo",
    "advocacy.testimony.demo:add_to_demo",
    "advocacy.citipac.demo:add_to_demo",
]


@dataclass
class DemoPerson:
    name: str
    role: Role
    place: str
    email: str
    created: bool
    title: str = ""
    may_sign: bool = False

    @property
    def role_label(self) -> str:
        details = ", ".join(
            x for x in (self.title if self.role is Role.OFFICIAL else "", "may sign" if self.may_sign else "") if x
        )
        return ROLE_NAMES[self.role] + (f" ({details})" if details else "")


@dataclass
class DemoSummary:
    people: list[DemoPerson] = field(default_factory=list)
    # (heading, lines) added by other packages' demo functions.
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    created_other: int = 0

    @property
    def created_count(self) -> int:
        return sum(1 for p in self.people if p.created) + self.created_other

    def add_section(self, heading: str, lines: list[str], *, created: int = 0) -> None:
        """Report another package's demo content; ``created`` counts what this run added."""
        self.sections.append((heading, lines))
        self.created_other += created


def _local_part(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def ensure_person(
    session: Session,
    summary: DemoSummary,
    *,
    email: str,
    name: str,
    role: Role,
    place: str,
    title: str = "",
    city_id: int | None = None,
    division_id: int | None = None,
    may_sign: bool = False,
    is_treasurer: bool = False,
) -> User:
    existing = service.get_user_by_email(session, email)
    if existing is not None:
        summary.people.append(
            DemoPerson(
                existing.name,
                existing.role,
                place,
                existing.email,
                created=False,
                title=existing.title,
                may_sign=existing.may_sign,
            )
        )
        return existing
    user = service.create_user(
        session,
        email=email,
        name=name,
        role=role,
        title=title,
        city_id=city_id,
        division_id=division_id,
        may_sign=may_sign,
        is_treasurer=is_treasurer,
    )
    summary.people.append(
        DemoPerson(user.name, user.role, place, user.email, created=True, title=user.title, may_sign=user.may_sign)
    )
    return user


def _city(session: Session, name: str) -> City:
    city = session.exec(select(City).where(City.name == name).order_by(col(City.geoid))).first()
    if city is None:
        raise LookupError(f"city {name!r} not found: load the California data first (advocacy data load)")
    return city


def create_demo(session: Session) -> DemoSummary:
    """Create the demo people (and other packages' demo content) unless they exist; report what is there."""
    divisions = list(session.exec(select(Division).order_by(col(Division.slug))).all())
    if not divisions:
        raise LookupError("no Regional Divisions: load the California data first (advocacy data load)")
    summary = DemoSummary()
    ensure_person(
        session,
        summary,
        email=f"staff@{DEMO_DOMAIN}",
        name="Sam Example",
        role=Role.STAFF,
        title="Legislative Representative",
        place="League",
    )
    ensure_person(
        session,
        summary,
        email=f"admin@{DEMO_DOMAIN}",
        name="Pat Example",
        role=Role.ADMIN,
        title="Administrator",
        place="League",
    )
    for index, division in enumerate(divisions):
        first = MANAGER_FIRST_NAMES[index % len(MANAGER_FIRST_NAMES)]
        ensure_person(
            session,
            summary,
            email=f"rpm.{_local_part(division.slug)}@{DEMO_DOMAIN}",
            name=f"{first} Demo",
            role=Role.REGIONAL_MANAGER,
            title="Regional Public Affairs Manager",
            division_id=division.id,
            place=division.name,
        )
    for city_name, mayor, council_member in DEMO_CITIES:
        city = _city(session, city_name)
        key = _local_part(city.name)
        ensure_person(
            session,
            summary,
            email=f"mayor.{key}@{DEMO_DOMAIN}",
            name=mayor,
            role=Role.OFFICIAL,
            title="Mayor",
            city_id=city.id,
            may_sign=True,
            place=city.name,
        )
        ensure_person(
            session,
            summary,
            email=f"council.{key}@{DEMO_DOMAIN}",
            name=council_member,
            role=Role.OFFICIAL,
            title="Council Member",
            city_id=city.id,
            place=city.name,
        )
    for dotted in EXTENSIONS:
        module_name, _, function_name = dotted.partition(":")
        extend: Callable[[Session, DemoSummary], None] = getattr(importlib.import_module(module_name), function_name)
        extend(session, summary)
    return summary


ROLE_NAMES = {
    Role.OFFICIAL: "official",
    Role.REGIONAL_MANAGER: "regional manager",
    Role.STAFF: "staff",
    Role.ADMIN: "admin",
}


def format_summary(summary: DemoSummary) -> str:
    """The table ``advocacy demo`` prints, and how to log in as any of the people in it."""
    header = ("who", "role", "city / division", "e-mail", "this run")
    rows = [(p.name, p.role_label, p.place, p.email, "created" if p.created else "existed") for p in summary.people]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    for heading, section_lines in summary.sections:
        lines += ["", heading, *(f"  {line}" for line in section_lines)]
    base = get_settings().base_url.rstrip("/")
    lines += [
        "",
        "Everyone above is fictional; the addresses are on demo.example and can never receive mail.",
        f"To log in as one of them: open {base}/login, enter the e-mail, then open the link from the development "
        f'outbox at {base}/dev/outbox and press "Log in".',
        "",
        f"Created {summary.created_count} new item(s)."
        if summary.created_count
        else "Nothing new: the demo was already there.",
    ]
    return "\n".join(lines)
