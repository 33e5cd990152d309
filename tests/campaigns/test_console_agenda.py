"""The Action Agenda: import from CSV or JSON (and the shipped bills), all-or-nothing with line numbers, one bill's
form, committee rules and hearings through the console pages."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date
from typing import Any

import pytest

from advocacy import DATA_DIR
from advocacy.accounts.models import User
from advocacy.campaigns import agenda
from advocacy.campaigns.console_models import AgendaItem, Hearing
from advocacy.db import session_scope
from tests.campaigns.conftest import bill_by_label, committee_named
from tests.helpers import csrf_token, login


def new_label() -> str:
    return f"SB {int(uuid.uuid4().int % 40_000) + 50_000}"


def test_csv_import_creates_and_updates_bills(staff: User) -> None:
    label = new_label()
    text = (
        "bill,position,hot,policy_area,talking_points,status,version_date,committee,title\n"
        f"{label},Oppose Unless Amended,yes,Revenue and Taxation,First point | Second point,In committee,2026-03-09,"
        f"Senate Local Government,Local taxes: test measure\n"
    )
    with session_scope() as session:
        report = agenda.import_rows(session, agenda.parse_csv(text), staff)
        assert (report.bills_created, report.agenda_created) == (1, 1)
        bill = bill_by_label(session, label)
        item = agenda.agenda_item(session, bill.id or 0)
        assert item is not None and item.hot and item.position == "Oppose Unless Amended"
        assert item.talking_points == "First point\nSecond point" and item.policy_area == "Revenue and Taxation"
        assert bill.committee_id == committee_named(session, "Senate", "Local Government").id
        assert bill.version_date == date(2026, 3, 9) and bill.origin_chamber == "Senate"
        again = agenda.import_rows(session, agenda.parse_csv(f"bill,hot\n{label},no\n"), staff)
        assert (again.bills_created, again.agenda_updated) == (0, 1)
        refreshed = agenda.agenda_item(session, bill.id or 0)
        assert refreshed is not None and not refreshed.hot and refreshed.position == "Oppose Unless Amended"


def test_a_bad_row_names_its_line_and_changes_nothing(staff: User) -> None:
    good, missing = new_label(), new_label()
    text = (
        "bill,position,committee,title\n"
        f"{good},Support,,A good new bill\n"
        f"{missing},Support,,\n"
        "XX 12,Support,,Whatever\n"
        f"{good},Maybe,Assembly Nowhere,Again\n"
    )
    with session_scope() as session, pytest.raises(agenda.AgendaError) as caught:
        agenda.import_rows(session, agenda.parse_csv(text), staff)
    errors = caught.value.errors
    assert any(e.startswith("line 3:") and "give its title" in e for e in errors)
    assert any(e.startswith("line 4:") for e in errors)
    assert any(e.startswith("line 5:") and "appears twice" in e for e in errors)
    assert any("unknown position 'Maybe'" in e for e in errors) and any("no committee" in e for e in errors)
    with session_scope() as session:
        from sqlmodel import select

        from advocacy.directory.models import Bill

        number = int(good.split()[1])
        assert session.exec(select(Bill).where(Bill.measure_type == "SB", Bill.number == number)).first() is None


def test_json_import_accepts_lists_and_the_shipped_format(staff: User) -> None:
    label = new_label()
    rows = agenda.parse_json(
        json.dumps(
            [
                {
                    "bill": label,
                    "title": "From JSON",
                    "talking_points": ["a", "b"],
                    "hot": True,
                    "committee": "Assembly Committee on Local Government",
                }
            ]
        )
    )
    with session_scope() as session:
        agenda.import_rows(session, rows, staff)
        bill = bill_by_label(session, label)
        assert bill.committee_id == committee_named(session, "Assembly", "Local Government").id
        assert agenda.agenda_item(session, bill.id or 0).talking_points == "a\nb"  # type: ignore[union-attr]
        shipped = agenda.parse_json((DATA_DIR / "bills.json").read_text())
        assert len(shipped) == 73
        report = agenda.import_shipped(session, staff)
        assert report.bills_created == 0 and report.agenda_created + report.agenda_updated == 73
        item = agenda.agenda_item(session, bill_by_label(session, "AB 1567").id or 0)
        assert item is not None and item.policy_area == "Housing, Community, and Economic Development"
    with pytest.raises(agenda.AgendaError, match="line 1"):
        agenda.parse_json("{not json")


def test_agenda_pages_import_edit_and_filter(client: Any, staff: User) -> None:
    login(client, staff)
    token = csrf_token(client)
    label = new_label()
    upload = client.post(
        "/console/agenda/import",
        data={"_csrf_token": token},
        files={
            "file": (
                "agenda.csv",
                io.BytesIO(f"bill,position,hot,title\n{label},Support,yes,Uploaded bill\n".encode()),
                "text/csv",
            )
        },
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text
    page = client.get("/console/agenda?hot=1")
    assert page.status_code == 200 and label in page.text and "Hot" in page.text
    bad = client.post(
        "/console/agenda/import",
        data={"_csrf_token": token},
        files={"file": ("agenda.csv", io.BytesIO(b"bill,position\nAB 1567,Perhaps\n"), "text/csv")},
    )
    assert bad.status_code == 422 and "Nothing was imported" in bad.text and "line 2" in bad.text
    with session_scope() as session:
        bill = bill_by_label(session, label)
    form = client.get(f"/console/bills/{bill.id}")
    assert form.status_code == 200 and "Talking points" in form.text
    saved = client.post(
        f"/console/bills/{bill.id}",
        data={
            "_csrf_token": token,
            "position": "Oppose",
            "policy_area": "Public Safety",
            "talking_points": "x\ny",
            "status": "In committee",
            "version_date": "2026-05-01",
            "committee_id": "",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with session_scope() as session:
        item = session.get(AgendaItem, agenda.agenda_item(session, bill.id or 0).id)  # type: ignore[union-attr]
        assert item is not None and item.position == "Oppose" and not item.hot


def test_rules_and_hearings_pages(client: Any, staff: User) -> None:
    login(client, staff)
    token = csrf_token(client)
    seeded = client.post("/console/committees/seed", data={"_csrf_token": token}, follow_redirects=False)
    assert seeded.status_code == 303
    listing = client.get("/console/committees")
    assert listing.status_code == 200 and "5:00 p.m., 5 business days before the hearing" in listing.text
    with session_scope() as session:
        committee = committee_named(session, "Assembly", "Judiciary")
    refused = client.post(
        f"/console/committees/{committee.id}/rule",
        data={"_csrf_token": token, "kind": "business_days", "days": "4", "at_time": "25:00"},
    )
    assert refused.status_code == 422 and "is not a time" in refused.text
    no_channel = client.post(
        f"/console/committees/{committee.id}/rule",
        data={"_csrf_token": token, "kind": "business_days", "days": "4", "at_time": "17:00"},
    )
    assert no_channel.status_code == 422 and "at least one channel" in no_channel.text
    saved = client.post(
        f"/console/committees/{committee.id}/rule",
        data={
            "_csrf_token": token,
            "kind": "weekday_before",
            "weekday": "3",
            "at_time": "12:00",
            "accepts_portal": "1",
            "source_url": "https://ajud.assembly.ca.gov/",
            "checked_on": "2026-11-26",
            "listing": "support_oppose",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "12:00 p.m. on the Thursday before the hearing" in client.get(f"/console/committees/{committee.id}").text
    added = client.post(
        "/console/hearings",
        data={
            "_csrf_token": token,
            "committee_id": str(committee.id),
            "hearing_date": "2027-04-13",
            "hearing_time": "09:00",
            "room": "Room 437",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get("/console/hearings")
    assert "Thursday, April 8, 2027, 12:00 p.m. Pacific" in page.text
    with session_scope() as session:
        from sqlmodel import select

        hearing = session.exec(select(Hearing).where(Hearing.committee_id == committee.id)).first()
        assert hearing is not None
    moved = client.post(
        f"/console/hearings/{hearing.id}",
        data={
            "_csrf_token": token,
            "action": "save",
            "committee_id": str(committee.id),
            "hearing_date": "2027-04-20",
            "hearing_time": "09:00",
            "room": "Room 437",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert "Thursday, April 15, 2027" in client.get(f"/console/hearings/{hearing.id}").text
    deleted = client.post(
        f"/console/hearings/{hearing.id}", data={"_csrf_token": token, "action": "delete"}, follow_redirects=False
    )
    assert deleted.status_code == 303


def test_cli_imports_and_seeds(tmp_path: Any, loaded_data: dict[str, int]) -> None:
    from click.testing import CliRunner

    from advocacy.cli import main

    label = new_label()
    path = tmp_path / "agenda.csv"
    path.write_text(f"bill,position,title\n{label},Support,From the shell\n")
    runner = CliRunner()
    done = runner.invoke(main, ["agenda", "import", str(path)])
    assert done.exit_code == 0 and "1 bill(s) added to the agenda" in done.output
    path.write_text("bill,position\nAB 1567,Perhaps\n")
    refused = runner.invoke(main, ["agenda", "import", str(path)])
    assert refused.exit_code != 0 and "line 2" in refused.output
    seeded = runner.invoke(main, ["rules", "seed"])
    assert seeded.exit_code == 0 and "rule(s) added" in seeded.output and "not found" not in seeded.output


def test_demo_extension_is_idempotent(loaded_data: dict[str, int]) -> None:
    from advocacy.campaigns.console_demo import add_to_demo

    class Summary:
        def __init__(self) -> None:
            self.sections: list[tuple[str, list[str]]] = []

        def add_section(self, heading: str, lines: list[str], *, created: int = 0) -> None:
            self.sections.append((heading, lines))

    first, second = Summary(), Summary()
    with session_scope() as session:
        add_to_demo(session, first)
        add_to_demo(session, second)
    assert second.sections[0][1][0].startswith("0 committee letter rule(s) added")
    assert "0 bill(s) added to the agenda" in second.sections[0][1][1]
