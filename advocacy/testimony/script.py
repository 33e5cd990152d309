"""What a witness says: the me-too line, and a two-minute draft for lead witnesses.

Me-toos give only name, title, city and position (DOMAIN.md §2). A lead witness has about two minutes; at the
measured pace of testimony (about 140 words a minute) that is 260 to 300 words. The draft is built from the
campaign's talking points, never invents facts about the bill, and leaves one bracketed place for the official's
own local example: it is a starting point the official edits, and the page says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advocacy.campaigns.models import Position
from advocacy.testimony.models import Side

DRAFT_MIN_WORDS = 260
DRAFT_MAX_WORDS = 300
WORDS_PER_MINUTE = 140

# How the me-too line states the position ("…, City of Sacramento, in support.").
POSITION_PHRASES = {
    Position.SUPPORT: "in support",
    Position.OPPOSE: "in opposition",
    Position.SUPPORT_IF_AMENDED: "in support if amended",
    Position.OPPOSE_UNLESS_AMENDED: "opposed unless amended",
}
# What the lead witness is here to do ("…here to support AB 1573").
_PURPOSE = {
    Position.SUPPORT: "to support {bill}",
    Position.OPPOSE: "to oppose {bill}",
    Position.SUPPORT_IF_AMENDED: "to support {bill} if it is amended",
    Position.OPPOSE_UNLESS_AMENDED: "to oppose {bill} unless it is amended",
}
_ASK = {
    Position.SUPPORT: "For these reasons, {city} respectfully asks for your aye vote on {bill}.",
    Position.OPPOSE: "For these reasons, {city} respectfully asks for your no vote on {bill}.",
    Position.SUPPORT_IF_AMENDED: (
        "For these reasons, {city} asks that {bill} be amended to address these points; with those amendments, "
        "we would be glad to support it."
    ),
    Position.OPPOSE_UNLESS_AMENDED: (
        "For these reasons, {city} must oppose {bill} unless it is amended, and respectfully asks for your no vote "
        "on the bill as it stands."
    ),
}
# Sentences that add no claim about the bill, used in order to bring a short draft up to two minutes.
_FILLERS = {
    Side.SUPPORT: (
        "Cities are where state policy meets residents every day: at the permit counter, on our streets and in our "
        "council meetings, so we see directly how a bill like this one would work in practice.",
        "Cities across California share this view, and the League of California Cities has made this bill part of "
        "its Action Agenda.",
        "We appreciate the author's work on this bill and the Committee's attention to how it would affect local "
        "communities.",
        "Local officials answer directly to residents for what happens in their neighborhoods, and we take that "
        "responsibility seriously.",
        "[If true: our council discussed this bill on (date) and voted to support it.]",
        "Our residents expect the state and their cities to work together, and we see this bill in that light.",
        "[Optional: name a local partner, such as a school district, business group or nonprofit, that shares this "
        "view.]",
        "We hope the Committee will weigh the experience of cities as it considers this bill.",
        "[Optional: one sentence on who in your city this bill would help.]",
        "We are ready to work with the author as the bill moves forward.",
    ),
    Side.OPPOSE: (
        "Cities are where state policy meets residents every day: at the permit counter, on our streets and in our "
        "council meetings, so we see directly how a bill like this one would work in practice.",
        "Cities across California share this concern, and the League of California Cities has taken its position on "
        "this bill as part of its Action Agenda.",
        "We appreciate the author's intent; our concern is with how the bill would work in our communities.",
        "Local officials answer directly to residents for what happens in their neighborhoods, and we take that "
        "responsibility seriously.",
        "[If true: our council discussed this bill on (date) and voted to oppose it.]",
        "Local decisions are best made close to the people they affect, by officials residents elect and can hold "
        "accountable.",
        "[Optional: name a local partner, such as a school district, business group or nonprofit, that shares this "
        "concern.]",
        "We hope the Committee will weigh the experience of cities as it considers this bill.",
        "[Optional: one sentence on who in your city this bill would affect.]",
        "We would welcome the chance to work with the author on language that addresses these concerns.",
    ),
}
_ORDINALS = ("First", "Second", "Third", "Fourth", "Fifth")


def word_count(text: str) -> int:
    return len(re.findall(r"\S+", text))


def speaking_minutes(text: str) -> float:
    return round(word_count(text) / WORDS_PER_MINUTE, 1)


def side_of(position: Position) -> Side | None:
    """The side a position testifies on; None for requests to the Governor (no committee hears those)."""
    if position in (Position.SUPPORT, Position.SUPPORT_IF_AMENDED):
        return Side.SUPPORT
    if position in (Position.OPPOSE, Position.OPPOSE_UNLESS_AMENDED):
        return Side.OPPOSE
    return None


def me_too_line(name: str, title: str, city: str, position: Position) -> str:
    """ "Avery Example, Council Member, City of Sacramento, in support." (empty parts left out)."""
    parts = [p.strip() for p in (name, title, city) if p and p.strip()]
    return ", ".join([*parts, POSITION_PHRASES.get(position, position.value.lower())]) + "."


@dataclass(frozen=True)
class DraftFacts:
    """Everything the draft needs, gathered by the service."""

    name: str
    title: str
    city: str  # as the witness states it: "City of Sacramento"
    position: Position
    bill_label: str  # "AB 1573"
    bill_title: str  # "Land use: housing elements: target population."
    author: str  # "Assembly Member Isaac Bryan"; empty when unknown
    chair: str  # "Chair Smith"; empty: "Chair"
    talking_points: list[str]
    afternoon: bool = False


def _opening(facts: DraftFacts) -> str:
    greeting = "Good afternoon" if facts.afternoon else "Good morning"
    who = facts.name + (f", {facts.title}" if facts.title else "") + (f" of the {facts.city}" if facts.city else "")
    if facts.city and not facts.city.lower().startswith(("city of", "town of")):
        who = facts.name + (f", {facts.title}" if facts.title else "") + f", {facts.city}"
    bill = facts.bill_label + (f", authored by {facts.author}" if facts.author else "")
    purpose = _PURPOSE.get(facts.position, "to speak on {bill}").format(bill=bill)
    title = facts.bill_title.strip().rstrip(".")
    about = f" The bill concerns {title[0].lower() + title[1:]}." if title else ""
    return (
        f"{greeting}, {facts.chair or 'Chair'} and Members of the Committee. My name is {who}. I am here on behalf "
        f"of my city, with the League of California Cities, {purpose}.{about}"
    )


def _points(points: list[str]) -> list[str]:
    cleaned = [" ".join(p.split()) for p in points if p.strip()]
    return [p if p.endswith((".", "!", "?")) else p + "." for p in cleaned]


def _trim(text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` words, at a sentence end if one is near, else with an ellipsis."""
    words = text.split()
    if len(words) <= budget:
        return text
    cut = " ".join(words[:budget])
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if end >= len(cut) // 2:
        return cut[: end + 1]
    return " ".join(words[: max(budget - 1, 1)]) + " …"


def _the(city: str) -> str:
    """ "the City of Sacramento" where the name is a "City of …" or "Town of …"; the name as given otherwise."""
    return f"the {city}" if city.lower().startswith(("city of", "town of")) else city


def two_minute_draft(facts: DraftFacts) -> str:
    """A draft of 260 to 300 words: opening, the talking points, fillers if short, a place for a local example, the ask.

    Paragraphs are separated by blank lines.
    """
    side = side_of(facts.position) or Side.SUPPORT
    city = _the(facts.city) if facts.city else "my city"
    opening = _opening(facts)
    local = (
        f"In {city}, [add one concrete local example here: a project, a budget figure or a service residents rely "
        f"on, and what this bill would change for it]."
    )
    ask = _ASK.get(facts.position, "For these reasons, {city} asks for your vote on {bill}.").format(
        city=city, bill=facts.bill_label
    )
    closing = "Thank you. I would be glad to answer any questions."
    points = _points(facts.talking_points)
    if len(points) > 1:
        points = [f"{_ORDINALS[i] if i < len(_ORDINALS) else 'Also'}: {p}" for i, p in enumerate(points)]

    fixed = word_count(opening) + word_count(local) + word_count(ask) + word_count(closing)
    budget = DRAFT_MAX_WORDS - fixed
    kept: list[str] = []
    for point in points:
        room = budget - sum(word_count(p) for p in kept)
        if room <= 0:
            break
        if word_count(point) > room:
            if room >= 12:  # a cut point still says something; a shorter stub would not
                kept.append(_trim(point, room))
            break
        kept.append(point)

    def total(extra: list[str]) -> int:
        return fixed + sum(word_count(p) for p in kept) + sum(word_count(f) for f in extra)

    fillers: list[str] = []
    for filler in _FILLERS[side]:
        if total(fillers) >= DRAFT_MIN_WORDS:
            break
        if total([*fillers, filler]) <= DRAFT_MAX_WORDS:
            fillers.append(filler)
    half = (len(fillers) + 1) // 2
    body = [opening, *kept]
    if fillers:
        body.append(" ".join(fillers[:half]))
    body.append(local)
    if fillers[half:]:
        body.append(" ".join(fillers[half:]))
    body.extend([ask, closing])
    return "\n\n".join(body)
