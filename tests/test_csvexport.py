import csv
import io

import pytest

from advocacy.csvexport import safe_cell, to_csv


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-1+cmd", "'-1+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("-25.00", "-25.00"),
        ("Sacramento", "Sacramento"),
        (None, ""),
        (12, "12"),
    ],
)
def test_formula_like_cells_are_neutralised(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_to_csv_round_trips_with_neutralised_cells() -> None:
    text = to_csv(["name", "note"], [["Alex", "=1+1"], ["Sam, Jr.", "line\nbreak"]])
    assert list(csv.reader(io.StringIO(text))) == [["name", "note"], ["Alex", "'=1+1"], ["Sam, Jr.", "line\nbreak"]]
