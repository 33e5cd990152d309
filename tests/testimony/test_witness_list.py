"""The witness list: per bill in file order, support then opposition, leads (in slot order) then me-toos (in sign-up
order); the waiting list, declined and cancelled sign-ups left out. As CSV (formula-injection safe) and PDF; staff
record who spoke after the hearing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from advocacy.accounts.models import User
from advocacy.campaigns.models import Position
from advocacy.csvexport import safe_cell
from advocacy.db import session_scope
from advocacy.testimony import service, witness_list
from tests.testimony.conftest import sign


@pytest.fixture()
def hearing_with_witnesses(
    make_hearing: Any, make_campaign: Any, make_call: Callable[..., Any], make_user: Any, staff: User
) -> dict[str, Any]:
    hearing = make_hearing()
    second_bill = make_call(hearing=hearing, campaign=make_campaign(Position.SUPPORT, bill_index=1), file_order=3)
    first_support = make_call(hearing=hearing, campaign=make_campaign(Position.SUPPORT, bill_index=2), file_order=1)
    first_oppose = make_call(hearing=hearing, campaign=make_campaign(Position.OPPOSE, bill_index=2))
    people = {key: make_user(name=f"{key} Fictional") for key in ("L1", "L2", "L3", "M1", "M2", "M3", "O1", "X1")}
    signups = {
        "M1": sign(people["M1"], first_support),
        "L1": sign(people["L1"], first_support, role="lead"),
        "M2": sign(people["M2"], first_support),
        "L2": sign(people["L2"], first_support, role="lead"),
        "L3": sign(people["L3"], first_support, role="lead"),  # waiting list: not on the witness list
        "M3": sign(people["M3"], first_support),
        "O1": sign(people["O1"], first_oppose),
        "X1": sign(people["X1"], second_bill, role="lead"),
    }
    with session_scope() as session:
        service.cancel_signup(session, signups["M2"].id, people["M2"])
        service.decide(session, signups["L2"].id, staff, "confirm")
    return {"hearing": hearing, "people": people, "signups": signups}


def test_content_and_order(hearing_with_witnesses: dict[str, Any], staff: User) -> None:
    hearing = hearing_with_witnesses["hearing"]
    with session_scope() as session:
        wl = witness_list.build(session, hearing.id, staff)
    order = [(b.file_order, s.side.value, w.role.value, w.order, w.name) for b, s, w in wl.witnesses()]
    assert order == [
        (1, "support", "lead", 1, "L1 Fictional"),
        (1, "support", "lead", 2, "L2 Fictional"),
        (1, "support", "me_too", 1, "M1 Fictional"),
        (1, "support", "me_too", 2, "M3 Fictional"),
        (1, "oppose", "me_too", 1, "O1 Fictional"),
        (3, "support", "lead", 1, "X1 Fictional"),
    ]
    first = wl.witnesses()[0][2]
    assert first.status == "Awaiting confirmation" and wl.witnesses()[1][2].status == "Confirmed"
    assert first.title == "Council Member" and first.city == "City of Sacramento" and first.mode == "In person"
    assert first.line == "L1 Fictional, Council Member, City of Sacramento, in support."
    assert wl.witnesses()[4][2].line.endswith("in opposition.")
    assert hearing_with_witnesses["people"]["L1"].email == first.email
    # One bill only.
    with session_scope() as session:
        one = witness_list.build(session, hearing.id, staff, bill_id=wl.bills[1].bill.id)
    assert [w.name for _, _, w in one.witnesses()] == ["X1 Fictional"]


def test_only_staff_get_the_list(hearing_with_witnesses: dict[str, Any]) -> None:
    official = hearing_with_witnesses["people"]["L1"]
    with session_scope() as session, pytest.raises(service.NotAllowed):
        witness_list.build(session, hearing_with_witnesses["hearing"].id, official)


def test_csv_is_safe_to_open_in_a_spreadsheet(make_call: Callable[..., Any], make_user: Any, staff: User) -> None:
    call = make_call()
    official = make_user()
    with session_scope() as session:
        service.sign_up(
            session,
            call.id,
            official,
            service.SignupInput("me_too", "in_person", '=HYPERLINK("http://evil.example","x")', "+Mayor", "@City"),
        )
        text = witness_list.to_csv(witness_list.build(session, call.hearing_id, staff))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["role"] for r in rows] == ["me-too"]
    row = rows[0]
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["title"] == "'+Mayor" and row["city"] == "'@City"
    assert row["position"] == "Support" and row["side"] == "Support" and row["status"] == "Confirmed"
    assert row["me_too_line"].startswith("'=HYPERLINK")
    assert list(rows[0]) == witness_list.CSV_COLUMNS
    assert safe_cell("-1 (call me)") == "'-1 (call me)" and safe_cell("Sacramento") == "Sacramento"
    assert safe_cell("-25.00") == "-25.00"  # a plain number stays a number


def test_pdf_lists_the_witnesses_in_order(hearing_with_witnesses: dict[str, Any], staff: User) -> None:
    with session_scope() as session:
        wl = witness_list.build(session, hearing_with_witnesses["hearing"].id, staff)
    pdf = witness_list.to_pdf(wl)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())  # cells wrap: join the lines
    positions = [text.index(f"{key} Fictional") for key in ("L1", "L2", "M1", "M3", "O1", "X1")]
    assert positions == sorted(positions)
    assert "L3 Fictional" not in text and "M2 Fictional" not in text
    assert "Witness list" in str(reader.metadata.title)


def test_staff_record_who_spoke_after_the_hearing(hearing_with_witnesses: dict[str, Any], staff: User) -> None:
    hearing = hearing_with_witnesses["hearing"]
    signups = hearing_with_witnesses["signups"]
    after = service.hearing_end_utc(hearing) + timedelta(hours=3)
    with session_scope() as session:
        with pytest.raises(service.TestimonyError, match="once the hearing has begun"):
            service.record_spoke(session, hearing.id, staff, {signups["L1"].id})
        with pytest.raises(service.TestimonyError, match="Not on this hearing's witness list"):
            service.record_spoke(session, hearing.id, staff, {signups["L3"].id}, now=after)
        assert service.record_spoke(session, hearing.id, staff, {signups["L1"].id, signups["O1"].id}, now=after) == 6
        wl = witness_list.build(session, hearing.id, staff)
    spoke = {w.name: w.spoke for _, _, w in wl.witnesses()}
    assert spoke == {
        "L1 Fictional": True,
        "L2 Fictional": False,
        "M1 Fictional": False,
        "M3 Fictional": False,
        "O1 Fictional": True,
        "X1 Fictional": False,
    }
    assert [r["spoke"] for r in csv.DictReader(io.StringIO(witness_list.to_csv(wl)))][:2] == ["yes", "no"]
