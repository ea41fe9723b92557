"""Bad input that used to be misread or reported as an internal error gets its one clear line.

Issue 15, items 13 and 16: dates read the way a person means them (or refused when they could
mean two things), times and limits past what the catalog can hold, hostile lineage.toml files,
and files the process may not read or write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import lineage
from lineage import times
from lineage.errors import InvalidTime
from tests.conftest import Result, invoke


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def one_error_line(result: Result, code: int, *fragments: str) -> str:
    """Check that a command failed with one ``Error:`` line holding ``fragments``."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def dated(project: Path) -> dict[str, str]:
    """Two loads, on 2026-11-20 and 2026-11-21."""
    ids = {}
    for day in (20, 21):
        with lineage.start_run("load", table="transactions", time=utc(2026, 11, day, 9)) as run:
            ids[f"nov{day}"] = run.id
    return ids


# -- dates: issue 15, item 16 -----------------------------------------------------------------


def test_eight_digits_are_a_date_yyyymmdd() -> None:
    assert times.parse_window("20261120") == times.parse_window("2026-11-20")


def test_on_yyyymmdd_finds_that_days_runs(dated: dict[str, str]) -> None:
    result = invoke("runs", "--on", "20261120", "--json")
    assert result.exit_code == 0, result.output
    assert [run["run_id"] for run in __import__("json").loads(result.stdout)] == [dated["nov20"]]


def test_eight_digits_that_are_no_date_say_how_they_were_read() -> None:
    with pytest.raises(InvalidTime, match=r"'20261340'.*YYYYMMDD"):
        times.parse_window("20261340")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2026-W47-5", "week date"),
        ("2026W475", "week date"),
        ("2026-W47", "week date"),
        ("2026-324", "ordinal date"),
        ("2026", "year"),
    ],
)
def test_ambiguous_dates_are_refused_naming_what_they_look_like(
    dated: dict[str, str], text: str, kind: str
) -> None:
    line = one_error_line(invoke("runs", "--on", text), 2, repr(text), kind, "2026-11-20")
    assert "no runs match" not in line


@pytest.mark.parametrize("text", ["20261120T101502", "2026-11-20T101502", "2026-11-20T10:15:02,5"])
def test_iso_forms_other_than_the_documented_ones_are_refused(text: str) -> None:
    with pytest.raises(InvalidTime, match="YYYYMMDDHHMMSS"):
        times.parse_window(text)


# -- years past what a datetime holds: issue 15, item 13 -------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "--on", "9999-12-31"],
        ["runs", "--since", "9999-12-31"],
        ["runs", "--until", "9999-12-31T23:59:59"],
        ["runs", "--on", "99991231235959"],
        ["runs", "--since", "9999-12-31T23:30:00-05:00"],
        ["runs", "--until", "0001-01-01T00:30:00+05:00"],
        ["show", "load:transactions@9999-12-31"],
        ["show", "load:transactions@9999-12-31T23:59:59Z"],
    ],
)
def test_times_at_the_end_of_the_calendar_are_usage_errors(
    dated: dict[str, str], args: list[str]
) -> None:
    one_error_line(invoke(*args), 2, "out of range")


def test_the_last_whole_day_that_fits_is_still_accepted(dated: dict[str, str]) -> None:
    result = invoke("runs", "--on", "9999-12-30")
    assert result.exit_code == 0, result.output
    assert "no runs match" in result.stderr


def test_a_limit_past_what_the_database_holds_is_a_usage_error(dated: dict[str, str]) -> None:
    one_error_line(invoke("runs", "--limit", str(2**63)), 2, "limit")
    one_error_line(invoke("runs", "--limit", "-1"), 2, "limit")
    assert invoke("runs", "--limit", str(2**31 - 1)).exit_code == 0
