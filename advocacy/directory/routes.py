"""Public pages and the JSON API for the world we act on: cities, divisions, legislators, committees, bills.

Reference data is public (its sources are public records), so the pages are open to everyone; the JSON API needs
a bearer token like the rest of ``/api``. The city page shows its officials' names and titles, nothing more.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Template

from advocacy.accounts.auth import LOGGED_IN, PUBLIC
from advocacy.directory import service
from advocacy.directory.models import Chamber, CityDistrict, DistrictChamber, Division
from advocacy.directory.schemas import (
    BillDetail,
    BillSummary,
    CityDetail,
    CitySummary,
    CommitteeDetail,
    DistrictShare,
    LegislatorDetail,
    bill_summary,
)
from advocacy.web import DbSession

Limit = Annotated[int, Parameter(ge=1, le=200, description="at most this many results")]
PAGE_LIMIT = 500  # every city fits on the city list page
SEARCH_LIMIT = 25  # per kind of result


def pct(share: float) -> str:
    """0.6057 -> "61%"; a sliver of residents is "<1%" rather than a misleading "0%"."""
    if 0 < share < 0.005:
        return "<1%"
    return f"{share:.0%}"


def district_label(part: CityDistrict) -> str:
    """ "AD 57" / "SD 26"."""
    return f"{'AD' if part.chamber == DistrictChamber.LOWER else 'SD'} {part.district}"


def title_of(legislator: Any) -> str:
    return "Assemblymember" if legislator.chamber == Chamber.ASSEMBLY else "Senator"


HELPERS = {"pct": pct, "district_label": district_label, "title_of": title_of}


def _page(name: str, **context: Any) -> Template:
    return Template(template_name=f"pages/{name}.html", context={**HELPERS, **context})


def _division_of(session: DbSession, division_id: int | None) -> Division | None:
    return service.get_division(session, division_id) if division_id else None


# ---------------------------------------------------------------------------------------------- pages


@get("/", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def home(session: DbSession) -> Template:
    """Start page: search, the Regional Divisions, what this is."""
    return _page("home", divisions=service.list_divisions(session))


@get("/about", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def about(session: DbSession) -> Template:
    """Data sources, licenses and credits; accessibility."""
    return _page("about", imports=service.last_imports(session))


@get("/search", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def search_page(session: DbSession, q: FromQuery[str] = "") -> Template:
    """Cities, legislators and bills matching the query."""
    query = q.strip()[:200]
    return _page("search", q=query, results=service.search(session, query, SEARCH_LIMIT), limit=SEARCH_LIMIT)


@get("/cities", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def cities_page(session: DbSession, q: FromQuery[str] = "") -> Template:
    """Every city and town, or those whose name matches ``q``."""
    query = q.strip()[:200]
    divisions = {d.id: d for d, _ in service.list_divisions(session)}
    return _page("cities", q_cities=query, cities=service.list_cities(session, query, PAGE_LIMIT), divisions=divisions)


@get("/cities/{city_id:int}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def city_page(session: DbSession, city_id: FromPath[int]) -> Template:
    """A city: its division, membership, districts and the legislators who represent its residents."""
    city = service.get_city(session, city_id)
    districts = service.city_districts(session, city_id)
    return _page(
        "city",
        city=city,
        division=_division_of(session, city.division_id),
        assembly=[d for d in districts if d.chamber == DistrictChamber.LOWER],
        senate=[d for d in districts if d.chamber == DistrictChamber.UPPER],
        delegation=service.city_delegation(session, city_id),
        officials=service.city_officials(session, city_id),
    )


@get("/divisions", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def divisions_page(session: DbSession) -> Template:
    """The league's Regional Divisions."""
    return _page("divisions", divisions=service.list_divisions(session))


@get("/divisions/{slug:str}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def division_page(session: DbSession, slug: FromPath[str]) -> Template:
    """A Regional Division and its cities."""
    division = service.get_division_by_slug(session, slug)
    return _page("division", division=division, cities=service.division_cities(session, division.id or 0))


@get("/legislators/{legislator_id:int}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def legislator_page(session: DbSession, legislator_id: FromPath[int]) -> Template:
    """A legislator: contacts, offices, committees, bills authored, cities in the district."""
    legislator = service.get_legislator(session, legislator_id)
    return _page(
        "legislator",
        legislator=legislator,
        offices=service.legislator_offices(session, legislator_id),
        committees=service.legislator_committees(session, legislator_id),
        bills=service.legislator_bills(session, legislator_id),
        cities=service.districts_represented(session, legislator),
    )


@get("/committees/{committee_id:int}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def committee_page(session: DbSession, committee_id: FromPath[int]) -> Template:
    """A committee: members by role and the bills it has before it."""
    committee = service.get_committee(session, committee_id)
    return _page(
        "committee",
        committee=committee,
        members=service.committee_members(session, committee_id),
        bills=service.committee_bills(session, committee_id),
    )


@get("/bills", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def bills_page(session: DbSession, q: FromQuery[str] = "") -> Template:
    """The bills the toolkit tracks, or those matching ``q``."""
    query = q.strip()[:200]
    return _page("bills", q_bills=query, bills=service.list_bills(session, query, PAGE_LIMIT))


@get("/bills/{bill_id:int}", guards=[PUBLIC], sync_to_thread=True, include_in_schema=False)
def bill_page(session: DbSession, bill_id: FromPath[int]) -> Template:
    """A bill: status, version date, author, the committee hearing it now and its last actions."""
    bill = service.get_bill(session, bill_id)
    return _page(
        "bill",
        bill=bill,
        author=service.get_legislator(session, bill.author_id) if bill.author_id else None,
        committee=service.get_committee(session, bill.committee_id) if bill.committee_id else None,
        actions=list(reversed(service.bill_actions(session, bill_id))),
    )


# ---------------------------------------------------------------------------------------------- JSON API


@get("/api/v1/cities", guards=[LOGGED_IN], sync_to_thread=True, tags=["directory"])
def api_cities(session: DbSession, q: FromQuery[str] = "", limit: Limit = 50) -> list[CitySummary]:
    """Cities whose name contains ``q`` (all cities, by name, when empty)."""
    return [
        CitySummary.of(city, _division_of(session, city.division_id))
        for city in service.list_cities(session, q[:200], limit)
    ]


@get("/api/v1/cities/{city_id:int}", guards=[LOGGED_IN], sync_to_thread=True, tags=["directory"])
def api_city(session: DbSession, city_id: FromPath[int]) -> CityDetail:
    """A city with every district it touches (residents' shares) and the legislators who represent it."""
    city = service.get_city(session, city_id)
    districts = [
        DistrictShare(chamber=service.DISTRICT_CHAMBER[d.chamber].value, district=d.district, share=d.share)
        for d in service.city_districts(session, city_id)
    ]
    return CityDetail.build(
        city, _division_of(session, city.division_id), districts, service.city_delegation(session, city_id)
    )


@get("/api/v1/legislators/{legislator_id:int}", guards=[LOGGED_IN], sync_to_thread=True, tags=["directory"])
def api_legislator(session: DbSession, legislator_id: FromPath[int]) -> LegislatorDetail:
    """A legislator with offices and committee seats."""
    legislator = service.get_legislator(session, legislator_id)
    return LegislatorDetail.build(
        legislator,
        service.legislator_offices(session, legislator_id),
        service.legislator_committees(session, legislator_id),
    )


@get("/api/v1/committees/{committee_id:int}", guards=[LOGGED_IN], sync_to_thread=True, tags=["directory"])
def api_committee(session: DbSession, committee_id: FromPath[int]) -> CommitteeDetail:
    """A committee with its members and their roles."""
    committee = service.get_committee(session, committee_id)
    return CommitteeDetail.build(committee, service.committee_members(session, committee_id))


@get("/api/v1/bills", guards=[LOGGED_IN], sync_to_thread=True, tags=["directory"])
def api_bills(session: DbSession, q: FromQuery[str] = "", limit: Limit = 50) -> list[BillSummary]:
    """Bills by label ("AB 123", "ab123") or by words in the title or author's name."""
    return [bill_summary(bill) for bill in service.list_bills(session, q[:200], limit)]


@get("/api/v1/bills/{bill_id:int}", guards=[LOGGED_IN], sync_to_thread=True, tags=["directory"])
def api_bill(session: DbSession, bill_id: FromPath[int]) -> BillDetail:
    """A bill with its author, the committee hearing it now and its recorded actions."""
    bill = service.get_bill(session, bill_id)
    return BillDetail.build(
        bill,
        service.get_legislator(session, bill.author_id) if bill.author_id else None,
        service.get_committee(session, bill.committee_id) if bill.committee_id else None,
        service.bill_actions(session, bill_id),
    )


route_handlers: list[Any] = [
    home,
    about,
    search_page,
    cities_page,
    city_page,
    divisions_page,
    division_page,
    legislator_page,
    committee_page,
    bills_page,
    bill_page,
    api_cities,
    api_city,
    api_legislator,
    api_committee,
    api_bills,
    api_bill,
]
