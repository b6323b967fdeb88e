"""How numbers and dates are written in the CSV and read by people."""
from datetime import date

import pytest

from survey.engine.timefmt import format_day, format_decimal
from survey.reports.export import csv_cell


@pytest.mark.parametrize("value,french,written", [
    (12.5, True, "12,5"), (12.5, False, "12.5"), (-0.25, True, "-0,25"), (7, True, 7),
    (date(2024, 7, 15), True, "15/07/2024"), (date(2024, 7, 15), False, "2024-07-15"),
    ("=1+1", True, "'=1+1"), ("-5", True, "'-5"),
])
def test_csv_cells_follow_the_reader(value, french, written):
    assert csv_cell(value, french) == written


@pytest.mark.parametrize("value,shown", [
    (12348.5, "12\u00a0348,5"), (3.0, "3"), (-1234.75, "-1\u00a0234,75"), (0.1, "0,1"), (-0.5, "-0,5"), (10, "10"),
])
def test_decimals_are_written_the_french_way(value, shown):
    assert format_decimal(value) == shown


def test_a_day_is_written_in_words():
    assert format_day(date(2024, 3, 1)) == "1er mars 2024"
    assert format_day(date(2024, 7, 15)) == "15 juillet 2024"
