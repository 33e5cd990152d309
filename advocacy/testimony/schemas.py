"""What the JSON API says about hearings, testimony calls, sign-ups and witness lists. Times are UTC (ISO 8601 with
an offset); ``start`` is the hearing's start with its Pacific offset."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, Field

from advocacy.testimony.models import Mode, WitnessRole
from advocacy.testimony.service import CallView, HearingView, SignupView
from advocacy.testimony.witness_list import SideWitnesses, Witness, WitnessList


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value else None


class BillRef(BaseModel):
    id: int
    label: str
    title: str


class SignupRequest(BaseModel):
    call_id: int | None = Field(None, description="the bill's call at this hearing; optional when there is one")
    role: WitnessRole = WitnessRole.ME_TOO
    mode: Mode = Mode.IN_PERSON
    stated_name: str = Field("", max_length=120, description="default: the account's name")
    stated_title: str = Field("", max_length=120, description="default: the account's title")
    stated_city: str = Field("", max_length=120, description='default: the account\'s city ("City of …")')


class SignupOut(BaseModel):
    id: int
    call_id: int
    hearing_id: int
    bill: BillRef
    position: str
    role: WitnessRole
    mode: Mode
    status: str
    status_label: str
    stated_name: str
    stated_title: str
    stated_city: str
    staff_message: str
    me_too_line: str
    draft: str = Field("", description="lead witnesses: a two-minute draft from the campaign's talking points")
    signed_up_at: datetime | None
    spoke: bool | None
    calendar_sequence: int
    page_url: str
    calendar_url: str

    @classmethod
    def build(cls, view: SignupView) -> SignupOut:
        s = view.signup
        return cls(
            id=s.id or 0,
            call_id=s.call_id,
            hearing_id=view.hearing.id or 0,
            bill=BillRef(id=view.bill.id or 0, label=view.bill.label, title=view.bill.title),
            position=view.campaign.position.value,
            role=WitnessRole(s.role),
            mode=Mode(s.mode),
            status=s.status,
            status_label=view.status_label,
            stated_name=s.stated_name,
            stated_title=s.stated_title,
            stated_city=s.stated_city,
            staff_message=s.staff_message,
            me_too_line=view.me_too_line,
            draft=view.draft,
            signed_up_at=_utc(s.signed_up_at),
            spoke=s.spoke,
            calendar_sequence=s.ics_sequence,
            page_url=f"/testimony/signups/{s.id}",
            calendar_url=f"/testimony/signups/{s.id}/invite.ics",
        )


class CallOut(BaseModel):
    id: int
    campaign_id: int
    bill: BillRef
    position: str
    side: str
    file_order: int | None
    remote_offered: bool
    signup_deadline: datetime | None
    status: str
    open: bool
    lead_slots_per_side: int
    lead_slots_free: int
    waitlisted: int
    me_too_capacity: int | None
    me_too_places_left: int | None

    @classmethod
    def build(cls, view: CallView, now: datetime) -> CallOut:
        c = view.call
        return cls(
            id=c.id or 0,
            campaign_id=c.campaign_id,
            bill=BillRef(id=view.bill.id or 0, label=view.bill.label, title=view.bill.title),
            position=view.campaign.position.value,
            side=c.side,
            file_order=c.file_order,
            remote_offered=c.remote_offered,
            signup_deadline=_utc(c.signup_deadline),
            status=c.status,
            open=view.is_open(now),
            lead_slots_per_side=c.lead_slots_per_side,
            lead_slots_free=view.slots_free,
            waitlisted=view.waitlisted,
            me_too_capacity=c.capacity,
            me_too_places_left=view.places_left,
        )


class HearingOut(BaseModel):
    id: int
    committee_id: int
    committee: str
    hearing_date: date
    hearing_time: str = Field(description='"HH:MM" Pacific; empty while not announced')
    start: datetime | None = Field(description="the start with its Pacific offset; null while not announced")
    room: str
    notes: str
    description: str
    deadline: datetime | None = Field(description="UTC: the committee's position-letter deadline for this hearing")
    deadline_text: str = Field(description="the letter deadline in Pacific time, for people")
    rule: str = Field(description="the committee rule the letter deadline comes from, or why there is none")
    calls: list[CallOut] = Field(description="testimony calls: one per bill and side taking sign-ups")

    @classmethod
    def build(cls, view: HearingView, now: datetime) -> HearingOut:
        h = view.hearing
        return cls(
            id=h.id or 0,
            committee_id=h.committee_id,
            committee=view.committee.full_name if view.committee else "",
            hearing_date=h.hearing_date,
            hearing_time=h.hearing_time,
            start=view.start,
            room=h.room,
            notes=h.notes,
            description=view.hearing_text,
            deadline=_utc(view.letter_deadline),
            deadline_text=view.letter_deadline_text,
            rule=view.letter_rule,
            calls=[CallOut.build(c, now) for c in view.calls],
        )


class HearingDetailOut(HearingOut):
    signups: list[SignupOut] = Field(description="staff: every sign-up; an official: their own")

    @classmethod
    def build_detail(cls, view: HearingView, now: datetime) -> HearingDetailOut:
        base = HearingOut.build(view, now)
        return cls(
            **base.model_dump(exclude={"calls"}),
            calls=base.calls,
            signups=[SignupOut.build(s) for c in view.calls for s in c.signups],
        )


class WitnessOut(BaseModel):
    signup_id: int
    order: int
    role: WitnessRole
    name: str
    title: str
    city: str
    mode: str
    status: str
    email: str
    me_too_line: str
    spoke: bool | None

    @classmethod
    def build(cls, w: Witness) -> WitnessOut:
        return cls(
            signup_id=w.signup_id,
            order=w.order,
            role=w.role,
            name=w.name,
            title=w.title,
            city=w.city,
            mode=w.mode,
            status=w.status,
            email=w.email,
            me_too_line=w.line,
            spoke=w.spoke,
        )


class SideOut(BaseModel):
    side: str
    position: str
    leads: list[WitnessOut]
    me_toos: list[WitnessOut]

    @classmethod
    def build(cls, s: SideWitnesses) -> SideOut:
        return cls(
            side=s.side.value,
            position=s.position.value,
            leads=[WitnessOut.build(w) for w in s.leads],
            me_toos=[WitnessOut.build(w) for w in s.me_toos],
        )


class BillWitnessesOut(BaseModel):
    bill: BillRef
    file_order: int | None
    sides: list[SideOut]


class WitnessListOut(BaseModel):
    hearing_id: int
    description: str
    generated_at: datetime | None
    bills: list[BillWitnessesOut]

    @classmethod
    def build(cls, wl: WitnessList) -> WitnessListOut:
        return cls(
            hearing_id=wl.hearing.id or 0,
            description=wl.title,
            generated_at=_utc(wl.generated_at),
            bills=[
                BillWitnessesOut(
                    bill=BillRef(id=b.bill.id or 0, label=b.bill.label, title=b.bill.title),
                    file_order=b.file_order,
                    sides=[SideOut.build(s) for s in b.sides],
                )
                for b in wl.bills
            ],
        )
