"""The witness list of a hearing, for league staff and the author's office: per bill (in file order), the support
side then the opposition, each with its lead witnesses (in the order they took their slots) and then its me-toos
(in sign-up order). As data, a CSV (safe to open in a spreadsheet) and a tagged PDF.

Committees publish no witness-list format (DOMAIN.md §2): the columns are the fields DOMAIN.md suggests capturing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

import jinja2
from sqlmodel import Session, col, select

from advocacy import TEMPLATES_DIR
from advocacy.accounts.models import User
from advocacy.campaigns.console_models import Hearing
from advocacy.campaigns.models import Campaign, Position
from advocacy.csvexport import safe_cell
from advocacy.db import utcnow
from advocacy.directory.models import Bill, Committee
from advocacy.pdf import render_pdf
from advocacy.testimony.calendar import format_pacific
from advocacy.testimony.models import (
    MODE_LABELS,
    SIDE_LABELS,
    SLOT_STATUSES,
    Mode,
    Side,
    SignupStatus,
    TestimonyCall,
    TestimonySignup,
    WitnessRole,
)
from advocacy.testimony.script import me_too_line
from advocacy.testimony.service import NotAllowed, TestimonyNotFound, describe_hearing, is_staff

CSV_COLUMNS = [
    "hearing",
    "file_order",
    "bill",
    "bill_title",
    "position",
    "side",
    "role",
    "order",
    "name",
    "title",
    "city",
    "mode",
    "status",
    "email",
    "me_too_line",
    "spoke",
    "signup_id",
]


@dataclass
class Witness:
    signup_id: int
    order: int  # 1-based within the bill, side and role
    role: WitnessRole
    name: str
    title: str
    city: str
    mode: str
    status: str  # "Confirmed" or "Awaiting confirmation"
    email: str
    line: str
    spoke: bool | None


@dataclass
class SideWitnesses:
    side: Side
    position: Position
    leads: list[Witness] = field(default_factory=list)
    me_toos: list[Witness] = field(default_factory=list)

    @property
    def label(self) -> str:
        return SIDE_LABELS[self.side]


@dataclass
class BillWitnesses:
    bill: Bill
    file_order: int | None
    sides: list[SideWitnesses]

    @property
    def count(self) -> int:
        return sum(len(s.leads) + len(s.me_toos) for s in self.sides)


@dataclass
class WitnessList:
    hearing: Hearing
    committee: Committee | None
    bills: list[BillWitnesses]
    generated_at: datetime

    @property
    def title(self) -> str:
        return describe_hearing(self.hearing, self.committee)

    @property
    def generated_text(self) -> str:
        return format_pacific(self.generated_at)

    def witnesses(self) -> list[tuple[BillWitnesses, SideWitnesses, Witness]]:
        """Every witness in list order."""
        return [
            (bill, side, witness)
            for bill in self.bills
            for side in bill.sides
            for witness in (*side.leads, *side.me_toos)
        ]


def build(session: Session, hearing_id: int, user: User, *, bill_id: int | None = None) -> WitnessList:
    """The witness list of a hearing (one bill's only, with ``bill_id``). Staff only."""
    if not is_staff(user):
        raise NotAllowed("The witness list is for league staff.")
    hearing = session.get(Hearing, hearing_id)
    if hearing is None:
        raise TestimonyNotFound(f"There is no hearing {hearing_id}.")
    query = select(TestimonyCall).where(TestimonyCall.hearing_id == hearing_id)
    if bill_id is not None:
        query = query.where(TestimonyCall.bill_id == bill_id)
    calls = list(session.exec(query).all())
    by_bill: dict[int, BillWitnesses] = {}
    for call in sorted(calls, key=lambda c: (0 if c.side == Side.SUPPORT else 1, c.id or 0)):
        bill = session.get(Bill, call.bill_id)
        campaign = session.get(Campaign, call.campaign_id)
        if bill is None or campaign is None:
            continue
        entry = by_bill.setdefault(bill.id or 0, BillWitnesses(bill, call.file_order, []))
        if entry.file_order is None:
            entry.file_order = call.file_order
        side = SideWitnesses(Side(call.side), Position(campaign.position))
        rows = session.exec(
            select(TestimonySignup, User)
            .join(User, col(User.id) == TestimonySignup.user_id)
            .where(TestimonySignup.call_id == call.id, col(TestimonySignup.status).in_(SLOT_STATUSES))
        ).all()
        leads = sorted(
            (r for r in rows if r[0].role == WitnessRole.LEAD),
            key=lambda r: (r[0].slot_taken_at or r[0].signed_up_at, r[0].id or 0),
        )
        me_toos = sorted(
            (r for r in rows if r[0].role == WitnessRole.ME_TOO), key=lambda r: (r[0].signed_up_at, r[0].id or 0)
        )
        side.leads = [_witness(s, u, i, side.position) for i, (s, u) in enumerate(leads, 1)]
        side.me_toos = [_witness(s, u, i, side.position) for i, (s, u) in enumerate(me_toos, 1)]
        entry.sides.append(side)
    bills = sorted(
        by_bill.values(),
        key=lambda b: (b.file_order if b.file_order is not None else 10_000, b.bill.measure_type, b.bill.number),
    )
    return WitnessList(hearing, session.get(Committee, hearing.committee_id), bills, utcnow())


def _witness(signup: TestimonySignup, user: User, order: int, position: Position) -> Witness:
    return Witness(
        signup_id=signup.id or 0,
        order=order,
        role=WitnessRole(signup.role),
        name=signup.stated_name,
        title=signup.stated_title,
        city=signup.stated_city,
        mode=MODE_LABELS[Mode(signup.mode)],
        status="Confirmed" if signup.status == SignupStatus.CONFIRMED else "Awaiting confirmation",
        email=user.email,
        line=me_too_line(signup.stated_name, signup.stated_title, signup.stated_city, position),
        spoke=signup.spoke,
    )


# ----------------------------------------------------------------------------------------------- CSV


def to_csv(witness_list: WitnessList) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    hearing = witness_list.title
    for bill, side, w in witness_list.witnesses():
        spoke = "" if w.spoke is None else ("yes" if w.spoke else "no")
        writer.writerow(
            safe_cell(v)
            for v in (
                hearing,
                bill.file_order or "",
                bill.bill.label,
                bill.bill.title,
                side.position.value,
                side.label,
                "lead" if w.role == WitnessRole.LEAD else "me-too",
                w.order,
                w.name,
                w.title,
                w.city,
                w.mode,
                w.status,
                w.email,
                w.line,
                spoke,
                w.signup_id,
            )
        )
    return out.getvalue()


# ----------------------------------------------------------------------------------------------- PDF


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def to_html(witness_list: WitnessList) -> str:
    return _env.get_template("testimony/witness_list.html").render(wl=witness_list, WitnessRole=WitnessRole)


def to_pdf(witness_list: WitnessList) -> bytes:
    """A tagged PDF of the list (WeasyPrint through ``advocacy.pdf``: no network, no local files)."""
    return render_pdf(to_html(witness_list), title=f"Witness list: {witness_list.title}")


def filename(witness_list: WitnessList, extension: str) -> str:
    return f"witness-list-{witness_list.hearing.hearing_date.isoformat()}-hearing-{witness_list.hearing.id}.{extension}"
