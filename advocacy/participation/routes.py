"""Participation pages (``/participation``), ``/api/v1/divisions`` and ``/api/v1/campaigns/{id}/participation``
(no other package serves that path): thin handlers around participation.service and participation.campaign_list.

Scope is decided in the service: a regional manager sees their own division, staff every division, an official
their own city's history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

import anyio
from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from pydantic import BaseModel

from advocacy.accounts.auth import allow
from advocacy.accounts.models import Role, User
from advocacy.participation import campaign_list, charts, service
from advocacy.participation.service import ACTED, STATE_LABELS, CityState
from advocacy.web import CurrentUser, DbSession

# ``state`` and ``format`` are names litestar reserves for handler parameters: read them under other names.
StateQuery = Annotated[str, QueryParameter(name="state", description="a state, or not_acted")]
FormatQuery = Annotated[str, QueryParameter(name="format", description="json (default) or csv")]

MANAGERS = allow(Role.REGIONAL_MANAGER, Role.STAFF)
STAFF = allow(Role.STAFF)
READERS = allow(Role.OFFICIAL, Role.REGIONAL_MANAGER, Role.STAFF)


@contextmanager
def http_errors() -> Iterator[None]:
    try:
        yield
    except service.ParticipationError as exc:
        raise ClientException(detail=str(exc)) from None
    except service.NotFound as exc:
        raise NotFoundException(detail=str(exc)) from None
    except service.AccessDenied as exc:
        raise PermissionDeniedException(detail=str(exc)) from None


def _page(name: str, **context: Any) -> Template:
    return Template(
        template_name=f"pages/participation/{name}.html",
        context={"state_labels": STATE_LABELS, "states": list(CityState), **context},
    )


def _csv(text: str, filename: str) -> Response[str]:
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _campaign_param(raw: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ClientException(detail="campaign must be a campaign id (a number).")
    return int(raw)


def _grid_page(
    session: DbSession, user: User, division: Any, campaign: str, state: str, committee: str, q: str, notice: str = ""
) -> Template:
    with http_errors():
        campaign_id = _campaign_param(campaign)
        chosen_state = service.parse_state(state)
        grid = service.division_grid(
            session, user, division, campaign_id=campaign_id, state=chosen_state, committee_only=committee == "1", q=q
        )
        nudged = service.nudges_today(
            session,
            [c.id for c in grid.campaigns if c.id is not None],
            [r.city.id for r in grid.rows if r.city.id is not None],
        )
    return _page(
        "grid",
        grid=grid,
        campaign_id=campaign_id,
        state=chosen_state or "",
        committee=committee == "1",
        q=q,
        nudged=nudged,
        notice=notice,
        is_home=user.division_id == division.id,
        may_nudge=True,
        all_campaigns=service.active_campaigns(session),
    )


@get("/participation", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def home(
    session: DbSession,
    user: CurrentUser,
    campaign: FromQuery[str] = "",
    state_filter: StateQuery = "",
    committee: FromQuery[str] = "",
    q: FromQuery[str] = "",
    notice: FromQuery[str] = "",
) -> Template | Redirect:
    """A regional manager's home: their division's cities against the active campaigns. Staff go to the league
    view, an official to their city's history."""
    if service.is_staff(user):
        return Redirect(path="/participation/league")
    if user.role is Role.OFFICIAL and user.city_id is not None:
        return Redirect(path=f"/participation/cities/{user.city_id}")
    with http_errors():
        division = service.home_division(session, user)
    return _grid_page(session, user, division, campaign, state_filter, committee, q, notice)


@get("/participation/divisions/{slug:str}", guards=[MANAGERS], sync_to_thread=True, include_in_schema=False)
def division_page(
    session: DbSession,
    user: CurrentUser,
    slug: FromPath[str],
    campaign: FromQuery[str] = "",
    state_filter: StateQuery = "",
    committee: FromQuery[str] = "",
    q: FromQuery[str] = "",
    notice: FromQuery[str] = "",
) -> Template:
    """A division's grid; with ``?campaign=`` it is that campaign's per-city list (filters: state, committee, q)."""
    with http_errors():
        division = service.get_division(session, user, slug=slug)
    return _grid_page(session, user, division, campaign, state_filter, committee, q, notice)


@get("/participation/divisions/{slug:str}/grid.csv", guards=[MANAGERS], sync_to_thread=True, include_in_schema=False)
def division_csv(
    session: DbSession,
    user: CurrentUser,
    slug: FromPath[str],
    campaign: FromQuery[str] = "",
    state_filter: StateQuery = "",
    committee: FromQuery[str] = "",
    q: FromQuery[str] = "",
) -> Response[str]:
    with http_errors():
        division = service.get_division(session, user, slug=slug)
        grid = service.division_grid(
            session,
            user,
            division,
            campaign_id=_campaign_param(campaign),
            state=service.parse_state(state_filter),
            committee_only=committee == "1",
            q=q,
        )
    return _csv(service.grid_csv(grid), f"participation-{division.slug}.csv")


@get("/participation/league", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def league_page(session: DbSession, user: CurrentUser) -> Template:
    """All divisions side by side (staff)."""
    with http_errors():
        rows, total, campaigns = service.league_view(session, user)
    ranked = sorted(rows, key=lambda r: (-r.rate.percent, r.division.name))
    chart = charts.bar_chart(
        "league-ranked",
        "Divisions ranked by participation",
        "Share of member-city answers to the active campaigns, per Regional Division, highest "
        "first. The same figures are in the table.",
        [(r.division.name, r.rate.percent) for r in ranked],
    )
    by_campaign = service.rates_by_campaign(session, [c.id for c in campaigns if c.id is not None])
    campaign_rates = {
        campaign_id: service.Rate(
            acted=sum(r.acted for r in per_division.values()), possible=sum(r.possible for r in per_division.values())
        )
        for campaign_id, per_division in by_campaign.items()
    }
    return _page("league", rows=rows, total=total, campaigns=campaigns, chart=chart, campaign_rates=campaign_rates)


def _campaign_listing(
    session: DbSession, user: User, campaign_id: int, state: str, division: str, committee: str, q: str
) -> campaign_list.CampaignCities:
    with http_errors():
        return campaign_list.campaign_cities(
            session,
            user,
            campaign_id,
            state=state or None,
            division=division,
            committee_only=committee in ("1", "true"),
            q=q,
        )


@get("/participation/campaigns/{campaign_id:int}", guards=[STAFF], sync_to_thread=True, include_in_schema=False)
def campaign_page(
    session: DbSession,
    user: CurrentUser,
    campaign_id: FromPath[int],
    state_filter: StateQuery = "",
    division: FromQuery[str] = "",
    committee: FromQuery[str] = "",
    q: FromQuery[str] = "",
    notice: FromQuery[str] = "",
) -> Template:
    """One campaign across every member city (staff): state, division, committee mark, testimony sign-ups, last
    nudge; filters by state, division, committee cities and name; counts per state; nudges."""
    listing = _campaign_listing(session, user, campaign_id, state_filter, division, committee, q)
    query = listing.query()
    here = f"/participation/campaigns/{campaign_id}" + (f"?{query}" if query else "")
    return _page("campaign", listing=listing, notice=notice, here=here, query=query)


@get(
    "/participation/campaigns/{campaign_id:int}/cities.csv",
    guards=[STAFF],
    sync_to_thread=True,
    include_in_schema=False,
)
def campaign_csv(
    session: DbSession,
    user: CurrentUser,
    campaign_id: FromPath[int],
    state_filter: StateQuery = "",
    division: FromQuery[str] = "",
    committee: FromQuery[str] = "",
    q: FromQuery[str] = "",
) -> Response[str]:
    """The filtered list as CSV: the same rows as the page with the same query."""
    listing = _campaign_listing(session, user, campaign_id, state_filter, division, committee, q)
    suffix = f"-{listing.division.slug}" if listing.division else ""
    return _csv(campaign_list.cities_csv(listing), f"participation-campaign-{campaign_id}{suffix}.csv")


@get("/participation/cities/{city_id:int}", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def city_page(session: DbSession, user: CurrentUser, city_id: FromPath[int]) -> Template:
    """A city's history: per campaign, its state, letters and testimony sign-ups."""
    with http_errors():
        city, entries = service.city_history(session, user, city_id)
    return _page("city", city=city, entries=entries)


@get("/participation/cities/{city_id:int}/history.csv", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def city_csv(session: DbSession, user: CurrentUser, city_id: FromPath[int]) -> Response[str]:
    with http_errors():
        city, entries = service.city_history(session, user, city_id)
    return _csv(service.history_csv(city, entries), f"participation-city-{city.id}.csv")


@get("/participation/charts", guards=[MANAGERS], sync_to_thread=True, include_in_schema=False)
def charts_page(session: DbSession, user: CurrentUser) -> Template:
    """Participation over time per division, per campaign by division, the divisions ranked."""
    with http_errors():
        divisions = service.list_divisions(session)
        mine = next((d for d in divisions if d.id == user.division_id), None)
        shown = divisions if service.is_staff(user) else [d for d in divisions if d.id == user.division_id]
        campaigns = service.active_campaigns(session)
        league = service.league_rates(session, [c.id for c in campaigns if c.id is not None])
        by_campaign = service.rates_by_campaign(session, [c.id for c in campaigns if c.id is not None])
        starts, series = service.acted_by_week(session, [d.id for d in shown if d.id is not None])
    names = {d.id: d.name for d in divisions}
    ranked = sorted(divisions, key=lambda d: (-league.get(d.id or 0, service.Rate()).percent, d.name))
    week_labels = [f"{s:%b %-d}" for s in starts]
    over_time = charts.line_chart(
        "over-time",
        "Answers per week",
        "Letters sent each week by member cities of "
        + ("each division" if len(shown) > 1 else (mine.name if mine else "the division"))
        + ", over the last eight weeks. The same figures are in the table.",
        week_labels,
        [(names.get(d.id, ""), series.get(d.id or 0, [])) for d in shown],
    )
    ranked_chart = charts.bar_chart(
        "ranked",
        "Divisions ranked by participation",
        "Share of member-city answers to the active campaigns, highest first. The same figures are in the table.",
        [(d.name, league.get(d.id or 0, service.Rate()).percent) for d in ranked],
        highlight=mine.name if mine else None,
    )
    campaign_charts = [
        (
            c,
            charts.bar_chart(
                f"campaign-{c.id}",
                f"{c.title}: participation by division",
                "Share of each division's member cities that answered this campaign.",
                [(d.name, by_campaign[c.id or 0].get(d.id or 0, service.Rate()).percent) for d in divisions],
                highlight=mine.name if mine else None,
            ),
        )
        for c in campaigns
    ]
    return _page(
        "charts",
        shown=shown,
        divisions=divisions,
        ranked=ranked,
        league=league,
        week_labels=week_labels,
        series=series,
        over_time=over_time,
        ranked_chart=ranked_chart,
        campaign_charts=campaign_charts,
        by_campaign=by_campaign,
        mine=mine,
    )


@post("/participation/nudges", guards=[MANAGERS], include_in_schema=False)
async def send_nudges(request: Request[Any, Any, Any], session: DbSession, user: CurrentUser) -> Redirect:
    """Nudge the chosen cities' officials about one campaign (cities that acted or were nudged today are skipped)."""
    form = await request.form()
    back = str(form.get("back", "/participation"))
    if not back.startswith("/participation"):
        back = "/participation"
    raw_campaign = str(form.get("campaign_id", ""))
    raw_cities = [str(v) for v in form.getall("city_id", [])]
    if not raw_campaign.isdigit() or not all(v.isdigit() for v in raw_cities):
        raise ClientException(detail="Choose a campaign and the cities to nudge.")

    def work() -> service.NudgeResult:
        with http_errors():
            return service.nudge_cities(session, user, int(raw_campaign), [int(v) for v in raw_cities])

    result = await anyio.to_thread.run_sync(work)
    parts = [f"{len(result.created)} reminder(s) queued"]
    if result.already_today:
        parts.append(f"{len(result.already_today)} already nudged today")
    if result.acted:
        parts.append(f"{len(result.acted)} had already acted")
    separator = "&" if "?" in back else "?"
    from urllib.parse import quote

    return Redirect(path=f"{back}{separator}notice={quote('; '.join(parts) + '.')}")


# ---------------------------------------------------------------------------------------------------------------
# JSON API


class DivisionOut(BaseModel):
    slug: str
    name: str
    member_cities: int
    participation_percent: float | None = None


class CellOut(BaseModel):
    campaign_id: int
    state: str
    acted: bool
    committee_city: bool
    testimony_signups: int


class CityOut(BaseModel):
    city_id: int
    name: str
    campaigns: list[CellOut]


class ParticipationOut(BaseModel):
    division: str
    acted: int
    possible: int
    percent: float
    league_percent: float
    campaigns: list[int]
    cities: list[CityOut]


@get("/api/v1/divisions", guards=[READERS], sync_to_thread=True)
def api_divisions(session: DbSession, user: CurrentUser) -> list[DivisionOut]:
    """Every Regional Division; participation figures only on the divisions the caller may see."""
    rates = service.league_rates(session)
    sizes = service.member_city_counts(session)
    return [
        DivisionOut(
            slug=d.slug,
            name=d.name,
            member_cities=sizes.get(d.id or 0, 0),
            participation_percent=rates.get(d.id or 0, service.Rate()).percent
            if service.can_see_division(user, d.id or 0)
            else None,
        )
        for d in service.list_divisions(session)
    ]


@get("/api/v1/divisions/{slug:str}/participation", guards=[MANAGERS], sync_to_thread=True)
def api_participation(
    session: DbSession,
    user: CurrentUser,
    slug: FromPath[str],
    campaign: FromQuery[str] = "",
    since: FromQuery[str] = "",
    output: FormatQuery = "json",
) -> Any:
    """A division's cities against the active campaigns (``campaign``: one id). ``since`` (YYYY-MM-DD) keeps the
    cities whose state changed on or after that day. ``format=csv`` answers the grid as CSV."""
    if output not in ("json", "csv"):
        raise ClientException(detail="format must be json or csv.")
    since_at: datetime | None = None
    if since:
        try:
            since_at = datetime.combine(date.fromisoformat(since), datetime.min.time())
        except ValueError:
            raise ClientException(detail="since must be a date, YYYY-MM-DD.") from None
    with http_errors():
        division = service.get_division(session, user, slug=slug)
        grid = service.division_grid(session, user, division, campaign_id=_campaign_param(campaign))
        if since_at is not None:
            changed = service.cities_changed_since(
                session, [c.id or 0 for c in grid.campaigns], [r.city.id or 0 for r in grid.rows], since_at
            )
            grid.rows = [r for r in grid.rows if r.city.id in changed]
    if output == "csv":
        return _csv(service.grid_csv(grid), f"participation-{division.slug}.csv")
    return ParticipationOut(
        division=division.slug,
        acted=grid.rate.acted,
        possible=grid.rate.possible,
        percent=grid.rate.percent,
        league_percent=grid.league_rate.percent,
        campaigns=[c.id or 0 for c in grid.campaigns],
        cities=[
            CityOut(
                city_id=r.city.id or 0,
                name=r.city.name,
                campaigns=[
                    CellOut(
                        campaign_id=cell.campaign.id or 0,
                        state=cell.state.value,
                        acted=cell.state in ACTED,
                        committee_city=cell.committee,
                        testimony_signups=cell.signups,
                    )
                    for cell in r.cells
                ],
            )
            for r in grid.rows
        ],
    )


class CampaignCityOut(BaseModel):
    city_id: int
    name: str
    division: str
    state: str
    acted: bool
    committee_city: bool
    testimony_signups: int
    last_nudge_day: date | None
    last_nudge_status: str | None
    nudged_today: bool


class CampaignParticipationOut(BaseModel):
    campaign_id: int
    title: str
    status: str
    committee: str | None
    considered: int
    counts: dict[str, int]
    cities: list[CampaignCityOut]


@get("/api/v1/campaigns/{campaign_id:int}/participation", guards=[STAFF], sync_to_thread=True)
def api_campaign_participation(
    session: DbSession,
    user: CurrentUser,
    campaign_id: FromPath[int],
    state_filter: StateQuery = "",
    division: FromQuery[str] = "",
    committee: FromQuery[str] = "",
    q: FromQuery[str] = "",
    output: FormatQuery = "json",
) -> Any:
    """One campaign across every member city (staff). Filters: ``state`` (a state or ``not_acted``), ``division``
    (a slug), ``committee=1`` (cities whose own legislator sits on the committee hearing the bill), ``q`` (city
    name). ``counts`` are per state over the cities the other filters keep. ``format=csv`` answers the list as CSV."""
    if output not in ("json", "csv"):
        raise ClientException(detail="format must be json or csv.")
    listing = _campaign_listing(session, user, campaign_id, state_filter, division, committee, q)
    if output == "csv":
        return _csv(campaign_list.cities_csv(listing), f"participation-campaign-{campaign_id}.csv")
    return CampaignParticipationOut(
        campaign_id=campaign_id,
        title=listing.campaign.title,
        status=listing.campaign.status.value,
        committee=listing.committee.name if listing.committee else None,
        considered=listing.considered,
        counts={s.value: n for s, n in listing.counts.items()},
        cities=[
            CampaignCityOut(
                city_id=r.city.id or 0,
                name=r.city.name,
                division=r.division.slug,
                state=r.state.value,
                acted=r.acted,
                committee_city=r.committee,
                testimony_signups=r.signups,
                last_nudge_day=r.last_nudge.day if r.last_nudge else None,
                last_nudge_status=r.last_nudge.status.value if r.last_nudge else None,
                nudged_today=r.nudged_today,
            )
            for r in listing.rows
        ],
    )


route_handlers = [
    home,
    division_page,
    division_csv,
    league_page,
    campaign_page,
    campaign_csv,
    city_page,
    city_csv,
    charts_page,
    send_nudges,
    api_divisions,
    api_participation,
    api_campaign_participation,
]
