"""Who a letter goes to, and why, computed from the data: committee, author, the city's own legislators, Governor.

Each person appears once however many reasons name them (the author often sits on the committee); the reasons are
joined. The committee itself is written to the way its letter rule says (staff keep one per committee on the console:
e-mail, the Position Letter Portal, or mail); without a rule, the directory's ``letter_channel`` decides. Its members
are still e-mailed one by one, because committee staff do not pass letters on (DOMAIN.md §1.7).

A recipient in a target group whose message variant reads differently from the letter's main document gets a
document of its own (``Recipient.document``, the group); everyone else gets the main document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session

from advocacy.campaigns.models import Campaign, TargetGroup
from advocacy.campaigns.service import Stage, committee_short_name
from advocacy.directory.models import Bill, City, Committee, CommitteeRole, Legislator
from advocacy.letters.models import Channel
from advocacy.settings import get_settings

# The Governor's published mailing address (gov.ca.gov/contact), used in the addressee block only.
GOVERNOR_ADDRESS_LINES = ["1021 O Street, Suite 9000", "Sacramento, CA 95814"]
# The Legislature's building (the Capitol Annex's offices): a letter to several members, a chamber or a committee.
LEGISLATURE_ADDRESS_LINES = ["1021 O Street", "Sacramento, CA 95814"]
_ROLE_ORDER = {CommitteeRole.CHAIR.value: 0, CommitteeRole.VICE_CHAIR.value: 1}


@dataclass
class Recipient:
    key: str  # legislator:<id>, committee:<id>, governor
    channel: Channel
    name: str
    email: str
    reasons: list[str]
    legislator: Legislator | None = None
    committee: Committee | None = None
    sort_order: int = 0
    # How the letter's cc block names this person beside their name ("author", "Assembly District 7"); committee
    # members without another reason are covered by one "Members, <committee>" line.
    cc_notes: list[str] = field(default_factory=list)
    # "" for the letter's main document; else the target group whose own document (its own variant) this one gets.
    document: str = ""

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def cc_note(self) -> str:
        return "; ".join(self.cc_notes)


def honorific(legislator: Legislator) -> str:
    return f"The Honorable {legislator.name}"


def compute_recipients(session: Session, campaign: Campaign, bill: Bill, city: City, stage: Stage) -> list[Recipient]:
    """Every recipient of ``city``'s letter for ``campaign`` at ``stage``, in the order the letter page lists them."""
    found: dict[str, Recipient] = {}

    def add_legislator(legislator: Legislator, reason: str, cc_note: str = "") -> None:
        key = f"legislator:{legislator.id}"
        recipient = found.get(key)
        if recipient is None:
            recipient = found[key] = Recipient(
                key=key,
                channel=Channel.EMAIL,
                name=honorific(legislator),
                email=legislator.email,
                reasons=[],
                legislator=legislator,
            )
        if reason not in recipient.reasons:
            recipient.reasons.append(reason)
        if cc_note and cc_note not in recipient.cc_notes:
            recipient.cc_notes.append(cc_note)

    targets = campaign.targets
    settings = get_settings()
    if TargetGroup.GOVERNOR in targets and campaign.position.to_governor:
        found["governor"] = Recipient(
            key="governor",
            channel=Channel.EMAIL,
            name=f"The Honorable {settings.governor_name}",
            email=settings.governor_letters_address,
            reasons=[f"Governor: {campaign.position.value.lower()}"],
        )
    if TargetGroup.COMMITTEE in targets and stage.committee is not None:
        committee = stage.committee
        inbox = _committee_delivery(session, committee)
        found[inbox.key] = inbox
        for legislator, role in _ordered_members(session, committee):
            add_legislator(legislator, f"{role_label(role)}, {committee_short_name(committee)}")
    if TargetGroup.AUTHOR in targets and bill.author_id:
        author = session.get(Legislator, bill.author_id)
        if author is not None:
            add_legislator(author, "Author", f"author of {bill.label}")
    if TargetGroup.OWN_LEGISLATORS in targets:
        from advocacy.directory.service import city_delegation

        for member in city_delegation(session, city.id or 0):
            if member.share > 0:
                legislator = member.legislator
                add_legislator(
                    legislator,
                    own_legislator_reason(legislator, member.share),
                    f"{legislator.chamber} District {legislator.district}",
                )
    # Campaign console hooks: targets computed there (every member of a chamber), and which recipients' groups
    # have a message variant of their own (they get their own document).
    from advocacy.campaigns.letter_hooks import document_groups, extra_recipients

    for extra in extra_recipients(session, campaign, list(found.values())):
        found[extra.key] = extra
    ordered = list(found.values())
    groups = document_groups(session, campaign, city.id or 0, stage, ordered)
    for index, recipient in enumerate(ordered):
        recipient.sort_order = index
        recipient.document = groups.get(recipient.key, "")
    return ordered


def _committee_delivery(session: Session, committee: Committee) -> Recipient:
    """The committee itself as a recipient, on the channel its letter rule names (console hook), else on the one
    the directory's ``letter_channel`` names: its inbox, a Position Letter Portal packet, or a packet to mail."""
    from advocacy.campaigns.letter_hooks import committee_channels

    reason = f"Committee now hearing the bill ({committee_short_name(committee)})"
    rule = committee_channels(session, committee.id or 0)
    if rule is None:
        if committee.letter_channel != "portal_only" and committee.email:
            return _committee_recipient(committee, Channel.EMAIL, reason)
        how = "takes letters only through" if committee.letter_channel == "portal_only" else "publishes no inbox; use"
        return _committee_recipient(committee, Channel.PORTAL, f"{reason}: {how} the Position Letter Portal")
    # The rule staff keep: e-mail when it is accepted and an inbox is known (nothing for a person to do), else the
    # portal, else paper. Never two channels: each would put the letter in the committee's file again.
    if rule.email and committee.email:
        return _committee_recipient(committee, Channel.EMAIL, f"{reason}: takes letters by e-mail (committee rule)")
    if rule.portal:
        return _committee_recipient(
            committee, Channel.PORTAL, f"{reason}: takes letters through the Position Letter Portal (committee rule)"
        )
    if rule.mail:
        return _committee_recipient(committee, Channel.MAIL, f"{reason}: takes letters only by mail (committee rule)")
    # E-mail only, and no inbox on file: the delivery fails visibly at once, for staff to fix the directory.
    return _committee_recipient(
        committee, Channel.EMAIL, f"{reason}: takes letters only by e-mail, but no committee address is on file"
    )


def _committee_recipient(committee: Committee, channel: Channel, reason: str) -> Recipient:
    return Recipient(
        key=f"committee:{committee.id}",
        channel=channel,
        name=committee.full_name,
        email=committee.email if channel is Channel.EMAIL else "",
        reasons=[reason],
        committee=committee,
    )


def _ordered_members(session: Session, committee: Committee) -> list[tuple[Legislator, str]]:
    from advocacy.directory.service import committee_members

    members = [(legislator, str(role)) for legislator, role in committee_members(session, committee.id or 0)]
    return sorted(members, key=lambda m: (_ROLE_ORDER.get(m[1], 2), m[0].family_name or m[0].name))


def role_label(role: str) -> str:
    """ "vice chair" -> "Vice Chair"; Open States also has roles such as "democratic alternate"."""
    return str(role).replace("_", " ").title()


def own_legislator_reason(legislator: Legislator, share: float) -> str:
    assembly = str(legislator.chamber) == "Assembly"
    who, code = ("Your Assembly member", "AD") if assembly else ("Your Senator", "SD")
    part = "" if share >= 0.9995 else f", {share:.0%} of residents"
    return f"{who} ({code} {legislator.district}{part})"


def chair_of(session: Session, committee: Committee) -> Legislator | None:
    for legislator, role in _ordered_members(session, committee):
        if role == CommitteeRole.CHAIR.value:
            return legislator
    return None


def address_lines(capitol_address: str) -> list[str]:
    """ "Room 5710, 1021 O St. P.O. Box 942849, Sacramento, CA 94249" as the lines an envelope would carry."""
    parts = [p.strip() for p in capitol_address.split(",") if p.strip()]
    if len(parts) >= 3 and re.fullmatch(r"[A-Z]{2} \d{5}(-\d{4})?", parts[-1]):
        street = ", ".join(parts[:-2])
        lines = [line.strip() for line in re.split(r"\s(?=P\.?\s?O\.? Box)", street) if line.strip()]
        return [*lines, f"{parts[-2]}, {parts[-1]}"]
    return parts
