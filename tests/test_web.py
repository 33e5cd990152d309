from datetime import date, datetime

from advocacy.web import format_date, format_datetime


def test_stored_times_show_on_the_california_calendar_day() -> None:
    # 03:30 UTC on Nov 27 is still the evening of Nov 26 in Sacramento.
    assert format_date(datetime(2026, 11, 27, 3, 30)) == "November 26, 2026"
    assert format_datetime(datetime(2026, 11, 27, 3, 30)) == "November 26, 2026, 7:30 PM PST"
    assert format_datetime(datetime(2026, 7, 1, 19, 0)) == "July 1, 2026, 12:00 PM PDT"
    assert format_date(date(2026, 1, 2)) == "January 2, 2026"
    assert format_date(None) == ""
