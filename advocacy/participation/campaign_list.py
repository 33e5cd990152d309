"""One campaign across every member city, league-wide: the staff list behind ``/participation/campaigns/{id}``.

Each city's state is the grid's (``service.states``), so the list, the division grids and the league view never
disagree. The cities are the dashboards' universe: every member city (a campaign's alert audience narrows who was
e-mailed, not who may answer, and the league's rates count every member city too).

Filters are plain query values (state, division, committee cities, a name), applied here on the server so that a
filtered list is a shareable URL and its CSV holds exactly the rows on screen. The counts per state are taken over
the cities the other filters keep, so they add up to the list when no state is chosen and the chosen state's count
equals the list when one is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from advocacy.accounts.models import Role, User
from advocacy.campaigns.models import Campaign, CampaignStatus
from advocacy.csvexport import to_csv
from advocacy.directory.models import Bill, City, Committee, Division
from advocacy.participation import service
from advocacy.participation.models import MailState, Nudge
from advocacy.participation.service import ACTED, STATE_LABELS, CityState

NUDGE_LABELS = {
    MailState.PENDING: "queued",
    MailState.SENDING: "sending",
    MailState.SENT: "sent",
    MailState.FAILED: "failed",
    MailState.SKIPPED: "not sent: no official on file",
}


@dataclass(frozen=True)
class LastNudge:
    day: date
    status: MailState

    @property
    def label(self) -> str:
        return NUDGE_LABELS.get(self.status, str(self.status))


@dataclass
class CityLine:
    city: City
    division: Division
    state: CityState
    committee: bool
    signups: int
    last_nudge: LastNudge | None
    nudged_today: bool

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def acted(self) -> bool:
        return self.state in ACTED


@dataclass
class CampaignCities:
    campaign: Campaign
    bill: Bill
    committee: Committee | None  # the committee hearing the bill, whose members make a city a committee city
    divisions: list[Division]
    division: Division | None  # the division filter (locked to their own for a regional manager)
    division_locked: bool
    state: str | None
    committee_only: bool
    q: str
    rows: list[CityLine]
    counts: dict[CityState, int] = field(default_factory=dict)
    considered: int = 0  # the cities the filters other than state keep: the counts add up to this

    @property
    def active(self) -> bool:
        return self.campaign.status is CampaignStatus.ACTIVE

    @property
    def to_nudge(self) -> list[CityLine]:
        """Listed cities that may be reminded now: not acted, not yet nudged today, on an active campaign."""
        if not self.active:
            return []
        return [r for r in self.rows if not r.acted and not r.nudged_today]

    @property
    def acted(self) -> int:
        return sum(self.counts[s] for s in ACTED)

    @property
    def state_label(self) -> str:
        if self.state == "not_acted":
            return "have not acted"
        return STATE_LABELS[CityState(self.state)].lower() if self.state else ""

    def query(self, **changes: str) -> str:
        """This list's filters as a query string, with ``changes`` applied (empty values dropped)."""
        from urllib.parse import urlencode

        values = {
            "state": self.state or "",
            "division": self.division.slug if self.division and not self.division_locked else "",
            "committee": "1" if self.committee_only else "",
            "q": self.q,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})


def campaign_cities(
    session: Session,
    user: User,
    campaign_id: int,
    *,
    state: str | None = None,
    division: str = "",
    committee_only: bool = False,
    q: str = "",
    today: date | None = None,
) -> CampaignCities:
    """One campaign's member cities with their state, committee mark, testimony sign-ups and last nudge, filtered.

    Staff see every division; a regional manager only their own (the division filter is locked to it); anyone else
    is refused. ``state`` is a ``CityState`` value or ``not_acted``; ``division`` a division's slug.
    """
    if service.is_staff(user):
        locked = False
    elif user.role is Role.REGIONAL_MANAGER and user.division_id is not None:
        locked = True
    else:
        raise service.AccessDenied("A campaign's list of cities is for league staff and regional managers.")
    chosen_state = service.parse_state(state)
    campaign = service.get_campaign(session, campaign_id)
    divisions = service.list_divisions(session)
    by_id = {d.id: d for d in divisions}
    chosen: Division | None = None
    if locked:
        chosen = by_id.get(user.division_id)
        if division and (chosen is None or division != chosen.slug):
            raise service.AccessDenied("You may see your own division's cities only.")
    elif division:
        chosen = next((d for d in divisions if d.slug == division), None)
        if chosen is None:
            raise service.ParticipationError(f"Unknown division {division!r}.")
    bill = session.get(Bill, campaign.bill_id)
    assert bill is not None, "a foreign key guarantees the bill"
    committee = session.get(Committee, bill.committee_id) if bill.committee_id else None

    query = select(City).where(col(City.is_member)).order_by(col(City.name), col(City.id))
    if chosen is not None:
        query = query.where(City.division_id == chosen.id)
    cities = list(session.exec(query).all())
    city_ids = [c.id for c in cities if c.id is not None]
    found = service.states(session, [campaign_id], city_ids)
    marked = service.committee_cities(session, [campaign_id], city_ids)
    signups = service.testimony_signups(session, [campaign_id], city_ids)
    last = last_nudges(session, campaign_id, city_ids)
    day = today or service.today_in_california()

    needle = q.strip().lower()
    considered: list[CityLine] = []
    for city in cities:
        key = (campaign_id, city.id or 0)
        if city.division_id not in by_id or (committee_only and key not in marked):
            continue
        if needle and needle not in city.name.lower():
            continue
        nudge = last.get(city.id or 0)
        considered.append(
            CityLine(
                city=city,
                division=by_id[city.division_id],
                state=found[key],
                committee=key in marked,
                signups=signups.get(key, 0),
                last_nudge=nudge,
                nudged_today=nudge is not None and nudge.day == day,
            )
        )
    counts = dict.fromkeys(CityState, 0)
    for line in considered:
        counts[line.state] += 1
    if chosen_state == "not_acted":
        rows = [r for r in considered if not r.acted]
    elif chosen_state:
        rows = [r for r in considered if r.state.value == chosen_state]
    else:
        rows = considered
    return CampaignCities(
        campaign=campaign,
        bill=bill,
        committee=committee,
        divisions=divisions,
        division=chosen,
        division_locked=locked,
        state=chosen_state,
        committee_only=committee_only,
        q=q.strip(),
        rows=rows,
        counts=counts,
        considered=len(considered),
    )


def last_nudges(session: Session, campaign_id: int, city_ids: list[int]) -> dict[int, LastNudge]:
    """Each city's latest nudge on the campaign (by its Pacific day; one per day at most)."""
    if not city_ids:
        return {}
    rows = session.exec(
        select(col(Nudge.city_id), col(Nudge.day), col(Nudge.status))
        .where(Nudge.campaign_id == campaign_id, col(Nudge.city_id).in_(city_ids))
        .order_by(col(Nudge.day))
    ).all()
    return {int(city_id): LastNudge(day, MailState(status)) for city_id, day, status in rows}


def cities_csv(listing: CampaignCities) -> str:
    """The filtered list as on screen (formula-safe: campaign titles and city names are typed by people)."""
    header = [
        "Campaign id",
        "Campaign",
        "City",
        "Division",
        "State",
        "Acted",
        "Committee city",
        "Testimony sign-ups",
        "Last nudge (Pacific day)",
        "Last nudge status",
    ]
    return to_csv(
        header,
        (
            [
                listing.campaign.id,
                listing.campaign.title,
                r.city.name,
                r.division.name,
                r.label,
                "yes" if r.acted else "no",
                "yes" if r.committee else "no",
                r.signups,
                r.last_nudge.day.isoformat() if r.last_nudge else "",
                r.last_nudge.label if r.last_nudge else "",
            ]
            for r in listing.rows
        ),
    )
