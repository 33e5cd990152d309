"""CSV exports that a spreadsheet opens safely.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a line break is run as a formula by Excel and
LibreOffice (CSV injection), and our exports carry text people typed (names, notes, employers). Such a cell gets a
leading apostrophe, which spreadsheets show as text; plain numbers like ``-25.00`` (a refund) stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def safe_cell(value: object) -> str:
    """The cell's text, neutralised if a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def to_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (RFC 4180 line endings) with every cell passed through ``safe_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
