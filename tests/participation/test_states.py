"""A city's state on a campaign, the division grid's counts and rates, and that one view costs a fixed number of
queries however many letters there are."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from advocacy.accounts.models import User
from advocacy.campaigns.models import Campaign
from advocacy.db import get_engine, session_scope
from advocacy.letters.models import DeliveryStatus as D
from advocacy.letters.models import LetterStatus as L
from advocacy.participation import service
from advocacy.participation.service import CityState
from tests.participation.conftest import add_letter, close, division_cities, new_campaign


def _grid(user: User, campaign_id: int) -> service.Grid:
    with session_scope() as session:
        division = service.get_division(session, user, division_id=user.division_id)
        return service.division_grid(session, user, division, campaign_id=campaign_id)


def test_each_state_is_derived_from_the_records(people: dict[str, User], campaign: Campaign) -> None:
    official = people["official"]
    with session_scope() as session:
        cities = division_cities(session, 8)
        cases = [
            (L.DRAFT, [], False, CityState.DRAFT),
            (L.DRAFT, [], True, CityState.AWAITING_SIGNATURE),
            (L.QUEUED, [], False, CityState.SENT),
            (L.SENT, [D.ACCEPTED, D.DELIVERED], False, CityState.DELIVERED),
            (L.PARTIALLY_SENT, [D.DELIVERED, D.BOUNCED], False, CityState.BOUNCED_OR_FAILED),
            (L.SENT, [D.PORTAL_SUBMITTED, D.ACCEPTED], False, CityState.PORTAL_SUBMITTED),
            (L.SUPERSEDED, [D.DELIVERED], False, CityState.NOT_STARTED),
        ]
        for city, (status, deliveries, signature, _) in zip(cities, cases, strict=False):
            add_letter(
                session,
                campaign.id or 0,
                city.id or 0,
                official,
                status,
                deliveries=deliveries,
                signature_requested=signature,
            )
        expected = {city.id: case[3] for city, case in zip(cities, cases, strict=False)}
        expected[cities[7].id] = CityState.NOT_STARTED
    grid = _grid(people["manager"], campaign.id or 0)
    found = {row.city.id: row.cells[0].state for row in grid.rows}
    for city_id, state in expected.items():
        assert found[city_id] is state, city_id
    assert grid.rate.acted == 4  # sent, delivered, bounced, portal submitted
    assert grid.rate.possible == len(grid.rows)
    assert grid.counts[CityState.NOT_STARTED] == len(grid.rows) - 6


def test_a_sent_letter_outranks_a_newer_draft(people: dict[str, User], campaign: Campaign) -> None:
    with session_scope() as session:
        city = division_cities(session, 1)[0]
        add_letter(session, campaign.id or 0, city.id or 0, people["official"], L.SENT)
        add_letter(session, campaign.id or 0, city.id or 0, people["official"], L.DRAFT)
    grid = _grid(people["manager"], campaign.id or 0)
    assert next(r for r in grid.rows if r.city.id == city.id).cells[0].state is CityState.SENT


def test_the_grid_costs_the_same_queries_for_ten_letters_or_none(people: dict[str, User], campaign: Campaign) -> None:
    def count_queries() -> int:
        statements: list[str] = []

        def listen(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(get_engine(), "before_cursor_execute", listen)
        try:
            _grid(people["manager"], campaign.id or 0)
        finally:
            event.remove(get_engine(), "before_cursor_execute", listen)
        return len(statements)

    before = count_queries()
    with session_scope() as session:
        for city in division_cities(session, 10):
            add_letter(
                session,
                campaign.id or 0,
                city.id or 0,
                people["official"],
                L.SENT,
                deliveries=[D.DELIVERED, D.ACCEPTED],
            )
    after = count_queries()
    assert after == before
    assert before <= 12


STATUSES = st.sampled_from(list(L))
DELIVERY = st.sampled_from(list(D))
LETTER = st.tuples(STATUSES, st.lists(DELIVERY, max_size=3), st.booleans())
HISTORY = st.lists(st.lists(LETTER, max_size=3), min_size=5, max_size=5)


def oracle(letters: list[tuple[L, list[D], bool]]) -> CityState:
    """The definition in words, written independently of the service's query."""
    live = [(i, letter) for i, letter in enumerate(letters) if letter[0] is not L.SUPERSEDED]
    if not live:
        return CityState.NOT_STARTED
    sent = [x for x in live if x[1][0] is not L.DRAFT]
    if not sent:
        newest_draft = live[-1][1]
        return CityState.AWAITING_SIGNATURE if newest_draft[2] else CityState.DRAFT
    status, deliveries, _ = sent[-1][1]
    if status is L.AWAITING_APPROVAL:  # signed and sent to the league's approval queue: acted, not yet sent
        return CityState.HELD_FOR_REVIEW
    if status is L.FAILED or any(d in (D.BOUNCED, D.DROPPED, D.FAILED) for d in deliveries):
        return CityState.BOUNCED_OR_FAILED
    if D.PORTAL_SUBMITTED in deliveries:
        return CityState.PORTAL_SUBMITTED
    if D.DELIVERED in deliveries:
        return CityState.DELIVERED
    return CityState.SENT


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=HISTORY)
def test_dashboard_counts_equal_the_records(people: dict[str, User], history: list[list[Any]]) -> None:
    manager = people["manager"]
    with session_scope() as session:
        made = new_campaign(session, people["staff"])
        campaign_id = made.id or 0
        cities = division_cities(session, len(history))
        for city, letters in zip(cities, history, strict=True):
            for status, deliveries, signature in letters:
                add_letter(
                    session,
                    campaign_id,
                    city.id or 0,
                    people["official"],
                    status,
                    deliveries=deliveries,
                    signature_requested=signature,
                )
    try:
        grid = _grid(manager, campaign_id)
        found = {row.city.id: row.cells[0].state for row in grid.rows}
        expected = {city.id: oracle(letters) for city, letters in zip(cities, history, strict=True)}
        for city_id, state in expected.items():
            assert found[city_id] is state
        acted = sum(1 for s in expected.values() if s in service.ACTED)
        assert grid.rate.acted == acted
        assert sum(grid.counts.values()) == len(grid.rows)
        assert grid.counts[CityState.NOT_STARTED] == len(grid.rows) - len(cities) + sum(
            1 for s in expected.values() if s is CityState.NOT_STARTED
        )
        with session_scope() as session:
            league = service.league_rates(session, [campaign_id])
        assert league[manager.division_id or 0].acted == acted
        assert league[manager.division_id or 0].possible == len(grid.rows)
    finally:
        with session_scope() as session:
            close(session, campaign_id)
