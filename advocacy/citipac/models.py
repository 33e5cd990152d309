"""CitiPAC's tables: contributors, the append-only ledger, officials' pledges, campaign asks, and the work that follows.

The ledger (``citipac_ledger_entry``) is append-only: a refund or a correction is a new, reversing entry; nothing is
ever updated or deleted, so the records outlive the four years the law asks for (DOMAIN.md §4.7). Two guards enforce
it, because either alone can be bypassed: SQLAlchemy events refuse ORM updates and deletes (including bulk ones), and
database triggers refuse raw SQL. Alembic's autogenerate cannot emit triggers, so ``install_ledger_guards`` runs from
``migrations/env.py`` after every upgrade (and from ``create_all`` through the table's ``after_create`` event).

Money is whole cents (``BigInteger``), never floating point.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, Text, event, inspect
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import Field, SQLModel

from advocacy.campaigns import models as _campaigns  # noqa: F401  (the ask's foreign key names its table)
from advocacy.citipac.rules import (
    AccountHolder,
    ContributorKind,
    EntryKind,
    FundsSource,
    PaymentMethod,
)
from advocacy.db import utcnow

LEDGER_TABLE = "citipac_ledger_entry"
APPEND_ONLY_MESSAGE = (
    "the CitiPAC ledger is append-only: record a reversing entry (a refund or a correction) instead of changing or "
    "deleting an entry"
)


class LedgerIsAppendOnly(RuntimeError):
    """Raised by the ORM guard when code tries to change or delete a ledger entry."""


def enum_type(enum: type[StrEnum], length: int) -> Any:
    """Store an enum's values as plain text (no PostgreSQL enum types to migrate; values, not member names)."""
    return SAEnum(
        enum,
        native_enum=False,
        length=length,
        name=f"citipac_{enum.__name__.lower()}",
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Contributor(SQLModel, table=True):
    """A source of money: an individual, a committee, a business, or an anonymous source (never itemized).

    Contact details may be completed later (the 60-day rule); ``info_received_on`` keeps the date the missing
    information arrived, which the amended report needs (DOMAIN.md §4.3).
    """

    __tablename__ = "citipac_contributor"

    id: int | None = Field(default=None, primary_key=True)
    kind: ContributorKind = Field(sa_type=enum_type(ContributorKind, 32), index=True)
    # Individuals: name parts as Schedule A wants them (CTRIB_NAMT/NAMF/NAML/NAMS).
    name_title: str = Field(default="", max_length=20)
    first_name: str = Field(default="", max_length=60)
    last_name: str = Field(default="", max_length=100, index=True)
    name_suffix: str = Field(default="", max_length=20)
    # Committees, businesses, parties; and the label of an anonymous source.
    organization_name: str = Field(default="", max_length=200, index=True)
    street: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    state: str = Field(default="CA", max_length=2)
    zip_code: str = Field(default="", max_length=10)
    occupation: str = Field(default="", max_length=100)
    employer: str = Field(default="", max_length=200, description="the business's name when self-employed")
    self_employed: bool = Field(default=False)
    committee_sos_id: str = Field(default="", max_length=20, description="Secretary of State ID")
    committee_treasurer: str = Field(default="", max_length=300, description="name and address, if no SoS ID")
    email: str = Field(default="", max_length=254)
    # The official whose own giving this is (they may see it), and their city (division aggregates).
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    official_city_id: int | None = Field(default=None, foreign_key="city.id", index=True)
    info_received_on: date | None = Field(default=None, description="when missing information arrived")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    # Bumped as the first write of every ledger transaction for this contributor: on SQLite that takes the database
    # write lock before the year's total is read, so two contributions at once cannot both read the old total.
    lock_counter: int = Field(default=0)

    @property
    def display_name(self) -> str:
        if self.kind is ContributorKind.INDIVIDUAL:
            parts = [self.name_title, self.first_name, self.last_name, self.name_suffix]
            return " ".join(p for p in parts if p)
        return self.organization_name or "Anonymous"

    @property
    def sort_name(self) -> str:
        if self.kind is ContributorKind.INDIVIDUAL:
            return f"{self.last_name}, {self.first_name}".strip(", ")
        return self.organization_name

    @property
    def address_line(self) -> str:
        place = " ".join(p for p in (self.state, self.zip_code) if p)
        return ", ".join(p for p in (self.street, self.city, place) if p)


class LedgerEntry(SQLModel, table=True):
    """One receipt, refund or correction. Written once; reversing entries point at what they reverse."""

    __tablename__ = LEDGER_TABLE

    id: int | None = Field(default=None, primary_key=True)
    kind: EntryKind = Field(sa_type=enum_type(EntryKind, 16), index=True)
    contributor_id: int = Field(foreign_key="citipac_contributor.id", index=True)
    reverses_entry_id: int | None = Field(default=None, foreign_key=f"{LEDGER_TABLE}.id", index=True)
    received_on: date = Field(index=True, description="date received (refunds: date paid back)")
    amount_cents: int = Field(sa_type=BigInteger, description="negative for refunds and corrections")
    method: PaymentMethod = Field(sa_type=enum_type(PaymentMethod, 8))
    reference: str = Field(default="", max_length=120, description="check number, processor reference")
    earmark: str = Field(default="", max_length=300, description="committee or candidate it is earmarked for")
    for_state_candidates: bool = Field(default=False, description="may be used for contributions to state candidates")
    pledge_id: int | None = Field(default=None, foreign_key="citipac_pledge.id", index=True)
    memo: str = Field(default="", max_length=500)
    # Snapshots taken under the contributor's lock when the entry was recorded.
    ytd_cents: int = Field(sa_type=BigInteger, description="contributor's calendar-year total including this entry")
    info_required: bool = Field(default=False, description="§85700: recorded without the information it needs")
    info_due_on: date | None = Field(default=None, description="the 60th day: return it by then if still missing")
    recorded_by_id: int = Field(foreign_key="user.id", index=True)
    recorded_at: NaiveDatetime = Field(default_factory=utcnow)
    # The form's one-time token or the API's Idempotency-Key: a second press of "Record" finds the first entry.
    request_key: str | None = Field(default=None, unique=True, max_length=80)

    @property
    def tran_id(self) -> str:
        """The permanent transaction id the exports use (CAL ``TRAN_ID``)."""
        return f"CP{self.id:07d}"


class PledgeStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class Pledge(SQLModel, table=True):
    """An official's promise to give, with the attestation that the money is not the city's."""

    __tablename__ = "citipac_pledge"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    city_id: int | None = Field(default=None, foreign_key="city.id", index=True)
    ask_id: int | None = Field(default=None, foreign_key="citipac_ask.id", index=True)
    amount_cents: int = Field(sa_type=BigInteger)
    source: FundsSource = Field(sa_type=enum_type(FundsSource, 16))
    account_holder: AccountHolder = Field(sa_type=enum_type(AccountHolder, 20))
    method: PaymentMethod = Field(sa_type=enum_type(PaymentMethod, 8))
    payer_name: str = Field(max_length=200)
    payer_street: str = Field(default="", max_length=200)
    payer_city: str = Field(default="", max_length=100)
    payer_state: str = Field(default="CA", max_length=2)
    payer_zip: str = Field(default="", max_length=10)
    payer_email: str = Field(default="", max_length=254)
    occupation: str = Field(default="", max_length=100)
    employer: str = Field(default="", max_length=200)
    committee_sos_id: str = Field(default="", max_length=20)
    attestation: str = Field(sa_column=Column(Text, nullable=False), description="the words attested, as shown")
    attested_at: NaiveDatetime = Field(default_factory=utcnow)
    status: PledgeStatus = Field(default=PledgeStatus.OPEN, sa_type=enum_type(PledgeStatus, 12), index=True)
    contributor_id: int | None = Field(default=None, foreign_key="citipac_contributor.id", index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class CitipacAsk(SQLModel, table=True):
    """A campaign's CitiPAC ask, set by staff. Shown only on the CitiPAC pages, never beside a letter (§4.9)."""

    __tablename__ = "citipac_ask"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    suggested_amounts: str = Field(default="", max_length=200, description="cents, comma-separated")
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    active: bool = Field(default=True, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)

    @property
    def suggestions(self) -> list[int]:
        return [int(v) for v in self.suggested_amounts.split(",") if v.strip().isdigit()]


class ElectionDate(SQLModel, table=True):
    """An election whose 90-day window triggers 24-hour reports (Form 497)."""

    __tablename__ = "citipac_election"

    id: int | None = Field(default=None, primary_key=True)
    election_on: date = Field(unique=True, index=True)
    name: str = Field(max_length=120)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class StateCandidateLimit(SQLModel, table=True):
    """The per-calendar-year limit on money a contributor may give for contributions to state candidates."""

    __tablename__ = "citipac_state_limit"

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True, index=True)
    amount_cents: int = Field(sa_type=BigInteger)
    set_by_id: int | None = Field(default=None, foreign_key="user.id")
    set_at: NaiveDatetime = Field(default_factory=utcnow)


class AlertKind(StrEnum):
    NOTICE_84105 = "notice_84105"
    MAJOR_DONOR = "major_donor"
    REPORT_24H = "report_24h"


ALERT_LABELS = {
    AlertKind.NOTICE_84105: "$5,000 notice (§84105)",
    AlertKind.MAJOR_DONOR: "Major donor ($10,000)",
    AlertKind.REPORT_24H: "24-hour report (Form 497)",
}


class ComplianceAlert(SQLModel, table=True):
    """Something the treasurer must do because of a contribution; ``key`` makes each one exist once."""

    __tablename__ = "citipac_alert"

    id: int | None = Field(default=None, primary_key=True)
    kind: AlertKind = Field(sa_type=enum_type(AlertKind, 20), index=True)
    key: str = Field(unique=True, max_length=120)
    contributor_id: int = Field(foreign_key="citipac_contributor.id", index=True)
    entry_id: int = Field(foreign_key=f"{LEDGER_TABLE}.id", index=True)
    election_id: int | None = Field(default=None, foreign_key="citipac_election.id")
    year: int
    due_on: date | None = None
    detail: str = Field(default="", max_length=500)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    resolved_at: NaiveDatetime | None = Field(default=None, index=True)
    resolved_by_id: int | None = Field(default=None, foreign_key="user.id")
    resolution: str = Field(default="", max_length=300)


class MessageKind(StrEnum):
    RECEIPT = "receipt"
    INFO_REQUEST = "info_request"
    NOTICE_84105 = "notice_84105"


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class CitipacMessage(SQLModel, table=True):
    """One e-mail CitiPAC owes someone: created in the transaction that makes it due, sent by a worker.

    ``key`` is unique, so each receipt, each step of an information request and each notice exists once however
    often the sweep or a redelivered message runs.
    """

    __tablename__ = "citipac_message"

    id: int | None = Field(default=None, primary_key=True)
    kind: MessageKind = Field(sa_type=enum_type(MessageKind, 20), index=True)
    key: str = Field(unique=True, max_length=120)
    contributor_id: int = Field(foreign_key="citipac_contributor.id", index=True)
    entry_id: int | None = Field(default=None, foreign_key=f"{LEDGER_TABLE}.id", index=True)
    step: int = Field(default=0)
    to_email: str = Field(max_length=254)
    status: MessageStatus = Field(default=MessageStatus.PENDING, sa_type=enum_type(MessageStatus, 10), index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    attempts: int = Field(default=0)
    sent_at: NaiveDatetime | None = Field(default=None, index=True)
    provider_message_id: str = Field(default="", max_length=120)
    paid_for_disclaimer: bool = Field(default=False)
    error: str = Field(default="", max_length=500)


# ---------------------------------------------------------------------------------------------------------------
# The append-only guards


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise LedgerIsAppendOnly(f"{APPEND_ONLY_MESSAGE} (entry {getattr(target, 'id', None)})")


event.listen(LedgerEntry, "before_update", _refuse_change)
event.listen(LedgerEntry, "before_delete", _refuse_change)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    """``session.execute(update(LedgerEntry))`` bypasses the mapper events above; refuse it here."""
    if (state.is_update or state.is_delete) and any(mapper.class_ is LedgerEntry for mapper in state.all_mappers):
        raise LedgerIsAppendOnly(APPEND_ONLY_MESSAGE)


def _guard_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS citipac_ledger_no_update BEFORE UPDATE ON {LEDGER_TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
            f"CREATE TRIGGER IF NOT EXISTS citipac_ledger_no_delete BEFORE DELETE ON {LEDGER_TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION citipac_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'restrict_violation'; END $$",
            f"DROP TRIGGER IF EXISTS citipac_ledger_no_change ON {LEDGER_TABLE}",
            f"CREATE TRIGGER citipac_ledger_no_change BEFORE UPDATE OR DELETE ON {LEDGER_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION citipac_ledger_append_only()",
            f"DROP TRIGGER IF EXISTS citipac_ledger_no_truncate ON {LEDGER_TABLE}",
            f"CREATE TRIGGER citipac_ledger_no_truncate BEFORE TRUNCATE ON {LEDGER_TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION citipac_ledger_append_only()",
        ]
    raise NotImplementedError(f"no append-only triggers for the {dialect} dialect")


def install_ledger_guards(connection: Connection) -> bool:
    """Create the ledger's append-only triggers if the table exists (idempotent). Returns whether it did."""
    if not inspect(connection).has_table(LEDGER_TABLE):
        return False
    for statement in _guard_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
    return True


@event.listens_for(LedgerEntry.__table__, "after_create")  # type: ignore[attr-defined]
def _guards_after_create(_table: Any, connection: Connection, **_kw: Any) -> None:
    install_ledger_guards(connection)
