"""What a witness says: the me-too line, and a two-minute draft (260 to 300 words) built from the talking points."""

from __future__ import annotations

import pytest

from advocacy.campaigns.models import Position
from advocacy.testimony.script import DraftFacts, me_too_line, side_of, two_minute_draft, word_count

FACTS = {
    "name": "Avery Example",
    "title": "Council Member",
    "city": "City of Sacramento",
    "bill_label": "AB 1573",
    "bill_title": "Land use: housing elements: target population.",
    "author": "Assembly Member Isaac Bryan",
    "chair": "Chair Carrillo",
}
POINT_SETS = {
    "none": [],
    "one": ["Keeps decisions about local land use with local councils."],
    "three": [
        "Keeps decisions about local land use with local councils.",
        "Protects the local revenue that pays for police and fire.",
        "Gives cities time to plan.",
    ],
    "many long": [" ".join(["Cities need predictable rules"] * 20)] * 6,
    "one huge": ["Local revenue " + "matters a great deal " * 120],
}


@pytest.mark.parametrize("position", [p for p in Position if side_of(p) is not None])
@pytest.mark.parametrize("points", list(POINT_SETS))
def test_the_draft_takes_about_two_minutes(position: Position, points: str) -> None:
    draft = two_minute_draft(DraftFacts(position=position, talking_points=POINT_SETS[points], **FACTS))
    assert 260 <= word_count(draft) <= 300
    assert draft.startswith("Good morning, Chair Carrillo and Members of the Committee.")
    assert "AB 1573" in draft and "the City of Sacramento" in draft
    assert draft.rstrip().endswith("I would be glad to answer any questions.")


def test_the_draft_keeps_the_talking_points_in_order() -> None:
    draft = two_minute_draft(DraftFacts(position=Position.OPPOSE, talking_points=POINT_SETS["three"], **FACTS))
    positions = [draft.index(point) for point in POINT_SETS["three"]]
    assert positions == sorted(positions)
    assert "to oppose AB 1573" in draft and "no vote" in draft
    afternoon = two_minute_draft(
        DraftFacts(position=Position.SUPPORT, talking_points=[], afternoon=True, **{**FACTS, "chair": ""})
    )
    assert afternoon.startswith("Good afternoon, Chair and Members")


def test_the_me_too_line() -> None:
    assert me_too_line("Avery Example", "Mayor", "City of Sacramento", Position.SUPPORT) == (
        "Avery Example, Mayor, City of Sacramento, in support."
    )
    assert me_too_line("Avery Example", "", "Town of Yountville", Position.OPPOSE_UNLESS_AMENDED) == (
        "Avery Example, Town of Yountville, opposed unless amended."
    )
    assert side_of(Position.REQUEST_FOR_VETO) is None
