"""What the CitiPAC JSON API takes and returns. Amounts are decimal strings ("250.00"), never floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from advocacy.citipac import rules
from advocacy.citipac.models import ComplianceAlert, Contributor, LedgerEntry, Pledge
from advocacy.citipac.rules import AccountHolder, ContributorKind, EntryKind, FundsSource, PaymentMethod

Amount = str | Decimal | int


class PledgeIn(BaseModel):
    amount: Amount = Field(description='dollars and cents as text, e.g. "250.00"')
    source: FundsSource = Field(description="where the money comes from: never the city")
    account_holder: AccountHolder = Field(description="whose card or account pays ('city' is refused)")
    method: PaymentMethod = PaymentMethod.CHECK
    payer_name: str = Field(description="the name on the check, card or account")
    payer_street: str = ""
    payer_city: str = ""
    payer_state: str = "CA"
    payer_zip: str = ""
    payer_email: str = Field("", description="where the receipt goes: a personal or business address")
    occupation: str = ""
    employer: str = ""
    committee_sos_id: str = ""
    attest: bool = Field(description="the attestation that the money is not city funds (see GET /citipac)")
    ask_id: int | None = None


class PledgeOut(BaseModel):
    id: int
    amount: str
    source: FundsSource
    account_holder: AccountHolder
    method: PaymentMethod
    payer_name: str
    status: str
    attestation: str
    ask_id: int | None

    @classmethod
    def of(cls, pledge: Pledge) -> PledgeOut:
        return cls(
            id=int(pledge.id or 0),
            amount=rules.money(pledge.amount_cents),
            source=pledge.source,
            account_holder=pledge.account_holder,
            method=pledge.method,
            payer_name=pledge.payer_name,
            status=pledge.status.value,
            attestation=pledge.attestation,
            ask_id=pledge.ask_id,
        )


class ContributorIn(BaseModel):
    kind: ContributorKind = ContributorKind.INDIVIDUAL
    name_title: str = ""
    first_name: str = ""
    last_name: str = ""
    name_suffix: str = ""
    organization_name: str = Field("", description="committees, businesses, parties; an anonymous source's label")
    street: str = ""
    city: str = ""
    state: str = "CA"
    zip_code: str = ""
    occupation: str = ""
    employer: str = Field("", description="the business's name when self-employed")
    self_employed: bool = False
    committee_sos_id: str = ""
    committee_treasurer: str = ""
    email: str = ""
    user_id: int | None = Field(None, description="the official whose own giving this is")


class ContributionIn(BaseModel):
    amount: Amount = Field(description='dollars and cents as text, e.g. "99.99"')
    method: PaymentMethod
    received_on: date | None = Field(None, description="default: today (California)")
    contributor_id: int | None = Field(None, description="an existing contributor, or give `contributor`")
    contributor: ContributorIn | None = None
    reference: str = ""
    earmark: str = ""
    for_state_candidates: bool = False
    pledge_id: int | None = None
    memo: str = ""


class ReversalIn(BaseModel):
    kind: EntryKind = Field(description="refund or correction")
    reason: str
    amount: Amount | None = Field(None, description="default: everything not yet reversed")
    on: date | None = None
    method: PaymentMethod | None = None
    reference: str = ""


class EntryOut(BaseModel):
    id: int
    tran_id: str
    kind: EntryKind
    contributor_id: int
    reverses_entry_id: int | None
    received_on: date
    amount: str
    method: PaymentMethod
    reference: str
    earmark: str
    for_state_candidates: bool
    memo: str
    cumulative_ytd: str
    info_required: bool
    info_due_on: date | None
    recorded_by_id: int
    recorded_at: str

    @classmethod
    def of(cls, entry: LedgerEntry) -> EntryOut:
        return cls(
            id=int(entry.id or 0),
            tran_id=entry.tran_id,
            kind=entry.kind,
            contributor_id=entry.contributor_id,
            reverses_entry_id=entry.reverses_entry_id,
            received_on=entry.received_on,
            amount=rules.money(entry.amount_cents),
            method=entry.method,
            reference=entry.reference,
            earmark=entry.earmark,
            for_state_candidates=entry.for_state_candidates,
            memo=entry.memo,
            cumulative_ytd=rules.money(entry.ytd_cents),
            info_required=entry.info_required,
            info_due_on=entry.info_due_on,
            recorded_by_id=entry.recorded_by_id,
            recorded_at=entry.recorded_at.isoformat() + "Z",
        )


class AlertOut(BaseModel):
    id: int
    kind: str
    due_on: date | None
    detail: str

    @classmethod
    def of(cls, alert: ComplianceAlert) -> AlertOut:
        return cls(id=int(alert.id or 0), kind=alert.kind.value, due_on=alert.due_on, detail=alert.detail)


class ContributionOut(BaseModel):
    entry: EntryOut
    duplicate: bool = Field(False, description="the Idempotency-Key was used before: this is that entry")
    info_missing: list[str]
    alerts: list[AlertOut]
    warnings: list[str]


class ContributorOut(BaseModel):
    id: int
    kind: ContributorKind
    entity_code: str
    name: str
    name_title: str
    first_name: str
    last_name: str
    name_suffix: str
    organization_name: str
    street: str
    city: str
    state: str
    zip_code: str
    occupation: str
    employer: str
    self_employed: bool
    committee_sos_id: str
    email: str
    info_missing: list[str]
    info_received_on: date | None
    totals_by_year: dict[str, str]
    entries: list[EntryOut]

    @classmethod
    def of(
        cls, contributor: Contributor, entries: list[LedgerEntry], missing: tuple[str, ...], totals: dict[int, int]
    ) -> ContributorOut:
        return cls(
            id=int(contributor.id or 0),
            kind=contributor.kind,
            entity_code=rules.ENTITY_CODES[contributor.kind],
            name=contributor.display_name,
            name_title=contributor.name_title,
            first_name=contributor.first_name,
            last_name=contributor.last_name,
            name_suffix=contributor.name_suffix,
            organization_name=contributor.organization_name,
            street=contributor.street,
            city=contributor.city,
            state=contributor.state,
            zip_code=contributor.zip_code,
            occupation=contributor.occupation,
            employer=contributor.employer,
            self_employed=contributor.self_employed,
            committee_sos_id=contributor.committee_sos_id,
            email=contributor.email,
            info_missing=list(missing),
            info_received_on=contributor.info_received_on,
            totals_by_year={str(year): rules.money(cents) for year, cents in totals.items()},
            entries=[EntryOut.of(e) for e in entries],
        )
