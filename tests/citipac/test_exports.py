"""The Schedule A export checked row by row against a hand-computed fixture (the year 2037 is this module's alone),
the 60-day and major-donor reports, and CSV cells that cannot run as spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from advocacy import csvexport
from advocacy.accounts.models import User
from advocacy.citipac import exports, service
from advocacy.citipac.rules import ContributorKind
from advocacy.db import session_scope
from tests.citipac.conftest import new_contributor, record

EVIL = '=HYPERLINK("http://evil.example","click")'


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture(scope="module")
def fixture_2037() -> dict[str, object]:
    """The fixture, recorded once. Hand-computed expectations are in the tests below."""
    with session_scope() as session:
        from tests.citipac.conftest import make_treasurer

        treasurer = make_treasurer(session)
    alvarez = new_contributor(
        treasurer,
        first_name="Maria",
        last_name="Alvarez",
        street="10 First St",
        city="Fresno",
        zip_code="93721",
        occupation="Pharmacist",
        employer="Valley Clinic",
    )
    baker = new_contributor(
        treasurer,
        complete=False,
        first_name="Lee",
        last_name="Baker",
        street="22 Second St",
        city="Chico",
        zip_code="95926",
    )
    committee = new_contributor(
        treasurer,
        kind=ContributorKind.COMMITTEE,
        organization_name="Friends of Example for Council",
        committee_sos_id="1400000",
        street="5 K St",
        city="Sacramento",
        zip_code="95814",
    )
    business = new_contributor(
        treasurer,
        kind=ContributorKind.BUSINESS,
        organization_name=EVIL,
        street="+1 Formula Way",
        city="Davis",
        zip_code="95616",
    )
    diaz = new_contributor(
        treasurer,
        first_name="Rosa",
        last_name="Diaz",
        name_title="Dr.",
        name_suffix="Jr.",
        occupation="Designer",
        employer="Rosa Diaz Design",
        self_employed=True,
        street="3 Third St",
        city="Ukiah",
        zip_code="95482",
    )
    chen = new_contributor(treasurer, first_name="Wu", last_name="Chen")
    frank = new_contributor(treasurer, first_name="Sam", last_name="Frank")
    anonymous = new_contributor(treasurer, kind=ContributorKind.ANONYMOUS)
    giver = new_contributor(treasurer, first_name="Gale", last_name="Giver", email="gale.giver@example.org")
    e = {
        "a1": record(treasurer, alvarez.id, "60.00", date(2037, 1, 10)).entry,  # before the period
        "b1": record(treasurer, baker.id, "150.00", date(2037, 2, 1)).entry,
        "e1": record(treasurer, chen.id, "40.00", date(2037, 2, 10)).entry,
        "a2": record(treasurer, alvarez.id, "50.00", date(2037, 2, 15), method="card").entry,
        "c1": record(treasurer, committee.id, "500.00", date(2037, 3, 1), earmark="No on Prop 1").entry,
        "g1": record(treasurer, anonymous.id, "20.00", date(2037, 3, 3), method="cash").entry,
        "d1": record(treasurer, business.id, "200.00", date(2037, 3, 5), memo="@SUM(1+1)").entry,
        "i1": record(treasurer, diaz.id, "100.00", date(2037, 3, 10)).entry,
        "a3": record(treasurer, alvarez.id, "25.00", date(2037, 3, 20)).entry,
        "f1": record(treasurer, frank.id, "80.00", date(2037, 3, 30)).entry,
        "f2": record(treasurer, frank.id, "30.00", date(2037, 4, 15)).entry,  # after the period
        "j1": record(treasurer, giver.id, "6000.00", date(2037, 5, 1)).entry,
        "j2": record(treasurer, giver.id, "4500.00", date(2037, 6, 1)).entry,
    }
    with session_scope() as session:
        e["c2"] = service.record_reversal(
            session,
            treasurer,
            e["c1"].id,
            kind="refund",
            amount="100",
            on=date(2037, 3, 25),
            reason="over the amount asked",
            today=date(2037, 12, 31),
        )
    return {"treasurer": treasurer, "entries": e, "giver": giver}


def test_schedule_a_row_by_row(fixture_2037: dict[str, object]) -> None:
    treasurer: User = fixture_2037["treasurer"]  # type: ignore[assignment]
    e = fixture_2037["entries"]
    t = {key: entry.tran_id for key, entry in e.items()}  # type: ignore[attr-defined]
    with session_scope() as session:
        report = exports.schedule_a(session, treasurer, date(2037, 2, 1), date(2037, 3, 31))
    table = rows(exports.schedule_a_csv(report))
    assert table[0] == list(exports.SCHEDULE_A_COLUMNS)
    expected = [
        # TRAN_ID, ENTITY_CD, NAML, NAMF, NAMT, NAMS, ADR1, CITY, ST, ZIP4, OCC, EMP, SELF, CMTE_ID, DATE, AMOUNT,
        # CUM_YTD, MEMO
        [
            t["b1"],
            "IND",
            "Baker",
            "Lee",
            "",
            "",
            "22 Second St",
            "Chico",
            "CA",
            "95926",
            "requested",
            "requested",
            "",
            "",
            "2037-02-01",
            "150.00",
            "150.00",
            "",
        ],
        [
            t["a2"],
            "IND",
            "Alvarez",
            "Maria",
            "",
            "",
            "10 First St",
            "Fresno",
            "CA",
            "93721",
            "Pharmacist",
            "Valley Clinic",
            "",
            "",
            "2037-02-15",
            "50.00",
            "110.00",
            "",
        ],  # $60 on Jan 10 counts toward the total
        [
            t["c1"],
            "COM",
            "Friends of Example for Council",
            "",
            "",
            "",
            "5 K St",
            "Sacramento",
            "CA",
            "95814",
            "",
            "",
            "",
            "1400000",
            "2037-03-01",
            "500.00",
            "500.00",
            "Earmarked: No on Prop 1",
        ],
        [
            t["d1"],
            "OTH",
            "'" + EVIL,
            "",
            "",
            "",
            "'+1 Formula Way",
            "Davis",
            "CA",
            "95616",
            "",
            "",
            "",
            "",
            "2037-03-05",
            "200.00",
            "200.00",
            "'@SUM(1+1)",
        ],
        [
            t["i1"],
            "IND",
            "Diaz",
            "Rosa",
            "Dr.",
            "Jr.",
            "3 Third St",
            "Ukiah",
            "CA",
            "95482",
            "Designer",
            "Rosa Diaz Design",
            "X",
            "",
            "2037-03-10",
            "100.00",
            "100.00",
            "",
        ],
        [
            t["a3"],
            "IND",
            "Alvarez",
            "Maria",
            "",
            "",
            "10 First St",
            "Fresno",
            "CA",
            "93721",
            "Pharmacist",
            "Valley Clinic",
            "",
            "",
            "2037-03-20",
            "25.00",
            "135.00",
            "",
        ],
        [
            t["c2"],
            "COM",
            "Friends of Example for Council",
            "",
            "",
            "",
            "5 K St",
            "Sacramento",
            "CA",
            "95814",
            "",
            "",
            "",
            "1400000",
            "2037-03-25",
            "-100.00",
            "400.00",
            f"Refund of {t['c1']}: over the amount asked; Earmarked: No on Prop 1",
        ],
        # Chen $40, the anonymous $20 and Frank's $80 (his $30 comes after the period): $140.00 in 3 entries.
        [
            "UNITEMIZED",
            "",
            "Unitemized contributions (sources under $100 in the calendar year)",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "140.00",
            "",
            "3 entries, 2037-02-01 to 2037-03-31",
        ],
    ]
    assert len(table) == len(expected) + 1
    for got, want in zip(table[1:], expected, strict=True):
        assert got == want
    assert report.itemized_cents == 15000 + 5000 + 50000 + 20000 + 10000 + 2500 - 10000


def test_a_later_period_itemizes_a_source_that_has_reached_100(fixture_2037: dict[str, object]) -> None:
    treasurer: User = fixture_2037["treasurer"]  # type: ignore[assignment]
    e = fixture_2037["entries"]
    with session_scope() as session:
        report = exports.schedule_a(session, treasurer, date(2037, 4, 1), date(2037, 4, 30))
    table = rows(exports.schedule_a_csv(report))
    assert [r[0] for r in table[1:]] == [e["f2"].tran_id, "UNITEMIZED"]  # type: ignore[index]
    assert table[1][15:17] == ["30.00", "110.00"]
    assert table[2][15] == "0.00"


def test_sixty_day_and_major_donor_reports(fixture_2037: dict[str, object]) -> None:
    treasurer: User = fixture_2037["treasurer"]  # type: ignore[assignment]
    e = fixture_2037["entries"]
    with session_scope() as session:
        sixty = rows(
            exports.sixty_day_csv(session, treasurer, date(2037, 1, 1), date(2037, 12, 31), today=date(2037, 3, 31))
        )
        major = rows(exports.major_donor_csv(session, treasurer, 2037))
    assert sixty[0] == list(exports.SIXTY_DAY_COLUMNS)
    assert sixty[1:] == [
        [
            e["b1"].tran_id,
            "Lee Baker",
            "2037-02-01",
            "150.00",
            "150.00",  # type: ignore[index]
            "occupation; employer",
            "2037-04-02",
            "Due by Apr 2, 2037 (2 days left)",
            "",
            "0",
        ]
    ]
    giver = fixture_2037["giver"]
    assert major[0] == list(exports.MAJOR_DONOR_COLUMNS)
    assert major[1:] == [
        [
            str(giver.id),
            "IND",
            "Gale Giver",
            "100 Example Street, Sacramento, CA 95814",  # type: ignore[attr-defined]
            "2037",
            "10500.00",
            "2037-05-01",
            "due 2037-05-15",
            "2037-06-01",
            "yes",
        ]
    ]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-25.00", "-25.00"),
        ("100.00", "100.00"),
        ("plain", "plain"),
        ("", ""),
        (None, ""),
        ("a=b", "a=b"),
    ],
)
def test_cells_are_safe_against_formula_injection(value: object, cell: str) -> None:
    assert csvexport.safe_cell(value) == cell


def test_the_period_must_make_sense(fixture_2037: dict[str, object]) -> None:
    treasurer: User = fixture_2037["treasurer"]  # type: ignore[assignment]
    with session_scope() as session:
        for start, end, message in (
            (None, date(2037, 1, 1), "Give the period"),
            (date(2037, 2, 1), date(2037, 1, 1), "ends before"),
            (date(2000, 1, 1), date(2037, 1, 1), "ten years"),
        ):
            with pytest.raises(service.CitipacError, match=message):
                exports.schedule_a(session, treasurer, start, end)
