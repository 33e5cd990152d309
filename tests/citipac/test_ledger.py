"""The ledger through the service: rules applied with the right totals, follow-ups, reversals, append-only storage
and concurrent contributions from one contributor (run this module with ADVOCACY_TEST_DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, func, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from advocacy.accounts.models import User
from advocacy.citipac import service
from advocacy.citipac.models import (
    AlertKind,
    CitipacMessage,
    ComplianceAlert,
    LedgerEntry,
    LedgerIsAppendOnly,
    MessageKind,
    Pledge,
    PledgeStatus,
)
from advocacy.citipac.rules import ContributorKind, InfoState
from advocacy.db import get_engine, session_scope
from tests.citipac.conftest import new_contributor, record


def entry_count(contributor_id: int) -> int:
    with session_scope() as session:
        return int(
            session.exec(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.contributor_id == contributor_id)
            ).one()
        )


# ------------------------------------------------------------------------------------------------ year-to-date


def test_year_to_date_restarts_on_january_1(treasurer: User) -> None:
    c = new_contributor(treasurer)
    assert record(treasurer, c.id, "60.00", date(2030, 12, 31)).entry.ytd_cents == 6000
    assert record(treasurer, c.id, "60.00", date(2031, 1, 1)).entry.ytd_cents == 6000
    assert record(treasurer, c.id, "40.00", date(2031, 1, 2)).entry.ytd_cents == 10000
    with session_scope() as session:
        assert service.year_total(session, c.id, 2030) == 6000
        assert service.year_total(session, c.id, 2031) == 10000


FLAG_TABLE = [
    # (amount, date, year-to-date after, flagged): one contributor without occupation and employer, in order
    ("99.99", date(2030, 12, 31), 9999, False),
    ("0.01", date(2031, 1, 1), 1, False),  # a new year starts from zero
    ("0.01", date(2030, 12, 31), 10000, True),  # back in the old year: $100.00 reached
    ("99.98", date(2031, 1, 2), 9999, False),
    ("0.01", date(2031, 1, 3), 10000, True),
]


def test_reaching_100_in_a_calendar_year_without_occupation_flags_at_the_edges(treasurer: User) -> None:
    c = new_contributor(treasurer, complete=False, street="1 Oak St", city="Davis", zip_code="95616")
    for amount, on, ytd, flagged in FLAG_TABLE:
        result = record(treasurer, c.id, amount, on)
        assert (result.entry.ytd_cents, result.entry.info_required) == (ytd, flagged), (amount, on)
        assert result.evaluation.info_missing == (("occupation", "employer") if flagged else ())
        if flagged:
            assert result.entry.info_due_on == date.fromordinal(on.toordinal() + 60)


# ------------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("amount", "accepted"), [("99.99", True), ("100.00", False)])
def test_cash_of_100_is_refused_and_nothing_changes(treasurer: User, amount: str, accepted: bool) -> None:
    c = new_contributor(treasurer)
    if accepted:
        assert record(treasurer, c.id, amount, date(2030, 5, 1), method="cash").entry.id
        assert entry_count(c.id) == 1
        return
    with pytest.raises(service.ContributionRefused, match=r"Cash of \$100 or more cannot be accepted"):
        record(treasurer, c.id, amount, date(2030, 5, 1), method="cash")
    assert entry_count(c.id) == 0


def test_anonymous_money_is_refused_at_100_in_a_calendar_year(treasurer: User) -> None:
    with session_scope() as session:
        small = service.record_contribution(
            session,
            treasurer,
            service.ContributionInput(
                amount="99.99",
                method="cash",
                received_on=date(2030, 3, 1),
                contributor=service.ContributorInput(kind="anonymous"),
            ),
            today=date(2030, 3, 1),
        )
        assert small.contributor.kind is ContributorKind.ANONYMOUS and small.contributor.display_name == "Anonymous"
        with pytest.raises(service.ContributionRefused, match="§84304"):
            service.record_contribution(
                session,
                treasurer,
                service.ContributionInput(
                    amount="100.00",
                    method="check",
                    received_on=date(2030, 3, 1),
                    contributor=service.ContributorInput(kind="anonymous"),
                ),
                today=date(2030, 3, 1),
            )
    # A recognisable anonymous source, across Dec 31 / Jan 1.
    source = new_contributor(treasurer, kind=ContributorKind.ANONYMOUS, organization_name="Envelope at the conference")
    record(treasurer, source.id, "60.00", date(2030, 12, 31))
    record(treasurer, source.id, "60.00", date(2031, 1, 1))  # a new year
    record(treasurer, source.id, "39.99", date(2031, 1, 2))  # $99.99 in 2031
    with pytest.raises(service.ContributionRefused, match="would reach"):
        record(treasurer, source.id, "0.01", date(2031, 1, 3))
    assert entry_count(source.id) == 3


def test_state_candidate_limit_is_per_calendar_year_and_configurable(treasurer: User) -> None:
    with session_scope() as session:
        service.set_state_limit(session, treasurer, year=2035, amount="9800")
    c = new_contributor(treasurer)
    record(treasurer, c.id, "9800.00", date(2035, 2, 1), for_state_candidates=True)
    with pytest.raises(service.ContributionRefused, match=r"over the \$9,800.00 limit"):
        record(treasurer, c.id, "0.01", date(2035, 2, 2), for_state_candidates=True)
    record(treasurer, c.id, "20000.00", date(2035, 2, 2))  # not for state candidates: not limited
    # 2036 has no limit, neither set nor by default: state-candidate money waits until the treasurer sets one.
    with pytest.raises(service.ContributionRefused, match="No limit is set"):
        record(treasurer, c.id, "10.00", date(2036, 1, 1), for_state_candidates=True)


def test_bad_input_is_refused_with_a_message(treasurer: User) -> None:
    c = new_contributor(treasurer)
    for amount, message in (("12.345", "dollars and cents"), ("0", "more than"), ("abc", "dollars and cents")):
        with pytest.raises(service.CitipacError, match=message):
            record(treasurer, c.id, amount, date(2030, 1, 5))
    with pytest.raises(service.CitipacError, match="future"):
        record(treasurer, c.id, "5", date(2030, 1, 5), today=date(2030, 1, 4))
    with pytest.raises(service.CitipacError, match="payment method"):
        record(treasurer, c.id, "5", date(2030, 1, 5), method="bitcoin")
    assert entry_count(c.id) == 0


# ------------------------------------------------------------------------------------------------ follow-ups


def test_the_sixty_day_queue_until_the_information_arrives(treasurer: User) -> None:
    c = new_contributor(
        treasurer, complete=False, street="1 Oak St", city="Davis", zip_code="95616", email="pat.flag@example.org"
    )
    received = date(2032, 3, 1)
    result = record(treasurer, c.id, "150.00", received, today=received)
    assert result.entry.info_required and result.entry.info_due_on == date(2032, 4, 30)
    kinds = sorted(m.kind.value for m in result.messages)
    assert kinds == ["info_request", "receipt"]
    with session_scope() as session:
        items = [
            i for i in service.treasurer_queue(session, treasurer, date(2032, 4, 30)).info if i.contributor.id == c.id
        ]
        assert [(i.clock.state, i.missing) for i in items] == [(InfoState.DUE_TODAY, ("occupation", "employer"))]
        items = service.flagged_entries(session, date(2032, 5, 1), contributor_ids=[c.id])
        assert items[0].clock.state is InfoState.OVERDUE
        service.update_contributor(
            session,
            treasurer,
            c.id,
            service.ContributorInput(
                kind="individual",
                first_name=c.first_name,
                last_name=c.last_name,
                street=c.street,
                city=c.city,
                zip_code=c.zip_code,
                occupation="Nurse",
                employer="Sutter Health",
                email=c.email,
            ),
            info_received_on=date(2032, 4, 2),
            today=date(2032, 4, 3),
        )
        items = service.flagged_entries(session, date(2032, 5, 1), contributor_ids=[c.id])
        assert items[0].clock.state is InfoState.RECEIVED
        assert not [i for i in service.treasurer_queue(session, treasurer).info if i.contributor.id == c.id]
        refreshed = service.get_contributor(session, treasurer, c.id)
        assert refreshed.info_received_on == date(2032, 4, 2)


def test_5000_notice_and_10000_major_donor(treasurer: User) -> None:
    c = new_contributor(treasurer, email="big.giver@example.org")
    first = record(treasurer, c.id, "4999.99", date(2033, 1, 10))
    assert not first.alerts
    second = record(treasurer, c.id, "0.01", date(2033, 1, 11))
    assert [(a.kind, a.due_on) for a in second.alerts] == [(AlertKind.NOTICE_84105, date(2033, 1, 25))]
    assert sorted(m.kind for m in second.messages) == [MessageKind.NOTICE_84105, MessageKind.RECEIPT]
    third = record(treasurer, c.id, "5000.00", date(2033, 2, 1))
    assert [a.kind for a in third.alerts] == [AlertKind.MAJOR_DONOR]
    fourth = record(treasurer, c.id, "100.00", date(2033, 2, 2))
    assert fourth.alerts == []  # each threshold once a year


def test_24_hour_reports_in_the_90_days_before_a_configured_election(treasurer: User) -> None:
    election = date(2040, 11, 6)
    with session_scope() as session:
        service.add_election(session, treasurer, election_on=election, name="General election 2040")
        with pytest.raises(service.CitipacError, match="already listed"):
            service.add_election(session, treasurer, election_on=election, name="Again")
    table = [(date(2040, 8, 7), False), (date(2040, 8, 8), True), (election, True), (date(2040, 11, 7), False)]
    for on, alert in table:
        c = new_contributor(treasurer)
        result = record(treasurer, c.id, "1000.00", on)
        assert [a.kind for a in result.alerts] == ([AlertKind.REPORT_24H] if alert else []), on
        if alert:
            assert result.alerts[0].due_on == date.fromordinal(on.toordinal() + 1)
    c = new_contributor(treasurer)
    assert record(treasurer, c.id, "600.00", date(2040, 7, 1)).alerts == []  # before the window
    assert record(treasurer, c.id, "600.00", date(2040, 9, 1)).alerts == []  # $600 in the window
    assert [a.kind for a in record(treasurer, c.id, "400.00", date(2040, 9, 2)).alerts] == [AlertKind.REPORT_24H]


# ------------------------------------------------------------------------------------------------ reversals


def test_refunds_and_corrections_are_reversing_entries(treasurer: User) -> None:
    c = new_contributor(treasurer, complete=False, street="1 Oak St", city="Davis", zip_code="95616")
    original = record(treasurer, c.id, "250.00", date(2030, 4, 1)).entry
    assert original.info_required
    with session_scope() as session:
        refund = service.record_reversal(
            session,
            treasurer,
            original.id,
            kind="refund",
            amount="50",
            on=date(2030, 4, 2),
            reason="asked for part back",
            today=date(2030, 5, 1),
        )
        assert (refund.amount_cents, refund.reverses_entry_id, refund.ytd_cents) == (-5000, original.id, 20000)
        assert refund.recorded_by_id == treasurer.id and refund.recorded_at is not None
        with pytest.raises(service.CitipacError, match="whole entry"):
            service.record_reversal(
                session, treasurer, original.id, kind="correction", amount="10", reason="typo", today=date(2030, 5, 1)
            )
        with pytest.raises(service.CitipacError, match=r"At most \$200.00"):
            service.record_reversal(
                session, treasurer, original.id, kind="refund", amount="200.01", reason="x", today=date(2030, 5, 1)
            )
        with pytest.raises(service.CitipacError, match="reversal"):
            service.record_reversal(session, treasurer, refund.id, kind="refund", reason="x", today=date(2030, 5, 1))
        with pytest.raises(service.CitipacError, match="Say why"):
            service.record_reversal(session, treasurer, original.id, kind="refund", reason=" ", today=date(2030, 5, 1))
        returned = service.record_reversal(
            session,
            treasurer,
            original.id,
            kind="refund",
            on=date(2030, 5, 30),
            reason="60-day return (§85700)",
            today=date(2030, 5, 30),
        )
        assert returned.amount_cents == -20000
        with pytest.raises(service.CitipacError, match="in full"):
            service.record_reversal(
                session, treasurer, original.id, kind="refund", reason="again", today=date(2030, 6, 1)
            )
        assert service.year_total(session, c.id, 2030) == 0
        items = service.flagged_entries(session, date(2030, 6, 10), contributor_ids=[c.id])
        assert items[0].clock.state is InfoState.RETURNED
        stored = session.get(LedgerEntry, original.id)
        assert stored is not None and stored.amount_cents == 25000  # the original never changes


def test_the_same_request_key_records_once(treasurer: User) -> None:
    c = new_contributor(treasurer)
    first = record(treasurer, c.id, "75.00", date(2030, 7, 1), request_key="form-token-abc123")
    again = record(treasurer, c.id, "75.00", date(2030, 7, 1), request_key="form-token-abc123")
    assert again.duplicate and again.entry.id == first.entry.id
    assert entry_count(c.id) == 1


# ------------------------------------------------------------------------------------------------ append-only


def test_the_orm_refuses_to_change_or_delete_an_entry(treasurer: User) -> None:
    c = new_contributor(treasurer)
    entry_id = record(treasurer, c.id, "10.00", date(2030, 8, 1)).entry.id
    with session_scope() as session:
        entry = session.get(LedgerEntry, entry_id)
        assert entry is not None
        entry.amount_cents = 1
        session.add(entry)
        with pytest.raises(LedgerIsAppendOnly, match="append-only"):
            session.commit()
    with session_scope() as session:
        entry = session.get(LedgerEntry, entry_id)
        session.delete(entry)
        with pytest.raises(LedgerIsAppendOnly):
            session.commit()
    with session_scope() as session:
        with pytest.raises(LedgerIsAppendOnly):
            session.execute(update(LedgerEntry).where(col(LedgerEntry.id) == entry_id).values(amount_cents=1))
        with pytest.raises(LedgerIsAppendOnly):
            session.execute(delete(LedgerEntry).where(col(LedgerEntry.id) == entry_id))
    with session_scope() as session:
        assert session.get(LedgerEntry, entry_id).amount_cents == 1000  # type: ignore[union-attr]


def test_the_database_refuses_raw_sql_updates_and_deletes(treasurer: User) -> None:
    c = new_contributor(treasurer)
    entry_id = record(treasurer, c.id, "10.00", date(2030, 8, 2)).entry.id
    engine = get_engine()
    statements = [
        ("UPDATE citipac_ledger_entry SET amount_cents = 1 WHERE id = :id", {"id": entry_id}),
        ("DELETE FROM citipac_ledger_entry WHERE id = :id", {"id": entry_id}),
        ("DELETE FROM citipac_ledger_entry", {}),
    ]
    if engine.dialect.name == "postgresql":
        statements.append(("TRUNCATE citipac_ledger_entry CASCADE", {}))
    for sql, params in statements:
        with engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(sql), params)
            connection.commit()
    with engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT amount_cents FROM citipac_ledger_entry WHERE id = :id"), {"id": entry_id}
            ).scalar_one()
            == 1000
        )


def test_the_guards_are_reinstalled_idempotently(treasurer: User) -> None:
    from advocacy.citipac.models import install_ledger_guards

    with get_engine().begin() as connection:
        assert install_ledger_guards(connection) is True
        assert install_ledger_guards(connection) is True


# ------------------------------------------------------------------------------------------------ concurrency


def test_concurrent_contributions_keep_the_cumulative_right(treasurer: User) -> None:
    """Four contributions from one contributor at the same moment: each sees the others, none is lost."""
    c = new_contributor(treasurer, complete=False, street="1 Oak St", city="Davis", zip_code="95616")
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def contribute() -> None:
        try:
            with session_scope() as session:
                session.exec(select(func.count()).select_from(LedgerEntry)).one()  # a read first, like a request
                barrier.wait(timeout=30)
                results.append(
                    service.record_contribution(
                        session,
                        treasurer,
                        service.ContributionInput(
                            amount="30.00", method="check", received_on=date(2034, 6, 1), contributor_id=c.id
                        ),
                        today=date(2034, 6, 1),
                    ).entry
                )
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    workers = [threading.Thread(target=contribute) for _ in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert sorted(e.ytd_cents for e in results) == [3000, 6000, 9000, 12000]
    assert [e.info_required for e in sorted(results, key=lambda e: e.ytd_cents)] == [False, False, False, True]
    with session_scope() as session:
        assert service.year_total(session, c.id, 2034) == 12000


# ------------------------------------------------------------------------------------------------ pledges


def pledge_input(**overrides: Any) -> service.PledgeInput:
    values: dict[str, Any] = dict(
        amount="250",
        source="personal",
        account_holder="personal",
        method="check",
        payer_name="Jordan Fictional",
        payer_street="12 Elm Street",
        payer_city="Sacramento",
        payer_zip="95818",
        payer_email="jordan.fictional@gmail.com",
        occupation="Council Member",
        employer="City of Sacramento",
        attest=True,
    )
    values.update(overrides)
    return service.PledgeInput(**values)


def pledge_count(user: User) -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(Pledge).where(Pledge.user_id == user.id)).one())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"account_holder": "city"}, "city card"),
        ({"payer_name": "City of Sacramento"}, "is a city"),
        ({"payer_email": "jordan@cityofsacramento.org"}, "government e-mail"),
        ({"attest": False}, "Confirm the attestation"),
        ({"method": "cash"}, "check, card or bank transfer"),
        ({"amount": "-5"}, "more than"),
        ({"source": ""}, "where the money comes from"),
    ],
)
def test_pledges_that_look_like_city_money_are_refused(
    people: dict[str, User], overrides: dict[str, Any], message: str
) -> None:
    official = people["official"]
    with session_scope() as session, pytest.raises(service.CitipacError, match=message):
        service.create_pledge(session, official, pledge_input(**overrides))
    assert pledge_count(official) == 0


def test_a_pledge_becomes_the_officials_own_giving(people: dict[str, User], treasurer: User) -> None:
    official = people["official"]
    with session_scope() as session:
        pledge = service.create_pledge(session, official, pledge_input())
        assert "not from city funds" in pledge.attestation and "my personal funds" in pledge.attestation
        assert service.matching_contributor(session, pledge) is None
        new = service.contributor_input_for_pledge(session, pledge)
        assert (new.kind, new.user_id, new.occupation) == (ContributorKind.INDIVIDUAL, official.id, "Council Member")
        result = service.record_contribution(
            session,
            treasurer,
            service.ContributionInput(
                amount="250", method="check", received_on=date(2026, 1, 15), contributor=new, pledge_id=pledge.id
            ),
            today=date(2026, 1, 15),
        )
        assert session.get(Pledge, pledge.id).status is PledgeStatus.FULFILLED  # type: ignore[union-attr]
        giving = service.own_giving(session, official)
        assert [e.id for e, _ in giving.entries] == [result.entry.id]
        assert giving.totals == {2026: 25000}
        assert service.get_contributor(session, official, result.contributor.id).user_id == official.id
        with pytest.raises(service.AccessDenied):
            service.get_contributor(session, people["other_official"], result.contributor.id)
        with pytest.raises(service.AccessDenied):
            service.get_contributor(session, people["staff"], result.contributor.id)
        with pytest.raises(service.AccessDenied):
            service.ledger(session, people["admin"], date(2026, 1, 1), date(2026, 12, 31))


def test_division_totals_show_no_names(people: dict[str, User], treasurer: User) -> None:
    manager = people["regional_manager"]
    with session_scope() as session:
        before = service.division_totals(session, manager, 2026)
        assert [t.division.id for t in before] == [manager.division_id]
        pledge = service.create_pledge(session, people["official"], pledge_input(amount="500"))
        service.record_contribution(
            session,
            treasurer,
            service.ContributionInput(
                amount="500",
                method="card",
                received_on=date(2026, 2, 1),
                pledge_id=pledge.id,
                contributor=service.contributor_input_for_pledge(session, pledge),
            ),
            today=date(2026, 2, 1),
        )
        after = service.division_totals(session, manager, 2026)[0]
        assert after.received_cents == before[0].received_cents + 50000
        assert after.contributions == before[0].contributions + 1
        assert not any(hasattr(after, name) for name in ("contributor", "name", "email"))
        assert len(service.division_totals(session, treasurer, 2026)) > 1
        with pytest.raises(service.AccessDenied):
            service.division_totals(session, people["official"], 2026)


def test_messages_and_alerts_are_keyed_once(treasurer: User) -> None:
    c = new_contributor(treasurer, email="keyed@example.org")
    entry = record(treasurer, c.id, "5000", date(2033, 3, 3)).entry
    with session_scope() as session:
        keys = session.exec(select(CitipacMessage.key).where(CitipacMessage.entry_id == entry.id)).all()
        assert sorted(keys) == [f"notice_84105:{c.id}:2033", f"receipt:{entry.id}"]
        alerts = session.exec(select(ComplianceAlert).where(ComplianceAlert.entry_id == entry.id)).all()
        assert [a.kind for a in alerts] == [AlertKind.NOTICE_84105]
