"""Times: every input form DESIGN.md accepts, the windows they name, and format round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage import times
from lineage.errors import InvalidTime, UsageError

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None]
)
# A day of margin at both ends, so converting an offset time to UTC stays within datetime's range.
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES
)
# From the first nine-digit second: eight digits are a date, YYYYMMDD.
RUN_TIMES = st.datetimes(
    min_value=datetime(1973, 3, 4), max_value=datetime(3000, 1, 1), timezones=st.just(UTC)
)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- round trips ------------------------------------------------------------------------------


@given(MOMENTS)
def test_precise_format_parses_back_to_the_same_moment(moment: datetime) -> None:
    text = times.format_precise(moment)
    window = times.parse_window(text)
    assert window.start == times.to_utc(moment)
    assert window.end - window.start == times.MICROSECOND
    assert text.endswith("Z")


@given(MOMENTS)
def test_shown_time_names_the_second_that_holds_the_moment(moment: datetime) -> None:
    window = times.parse_window(times.format_time(moment))
    assert times.to_utc(moment) in window
    assert window.end - window.start == SECOND
    assert window.start.microsecond == 0


@given(MOMENTS)
def test_compact_form_names_its_second(moment: datetime) -> None:
    m = times.to_utc(moment)
    text = f"{m.year:04d}{m.month:02d}{m.day:02d}{m.hour:02d}{m.minute:02d}{m.second:02d}"
    window = times.parse_window(text)
    assert window.start == m.replace(microsecond=0)
    assert window.end == window.start + SECOND


@given(RUN_TIMES)
def test_unix_seconds_name_their_second_and_fractions_their_microsecond(moment: datetime) -> None:
    # Integer arithmetic: moment.timestamp() is a float and rounds .999999 up past year 2300.
    whole = (moment - EPOCH) // SECOND
    window = times.parse_window(str(whole))
    assert window.start == datetime.fromtimestamp(whole, UTC)
    assert window.end == window.start + SECOND
    exact = f"{whole}.{moment.microsecond:06d}"
    assert times.parse_time(exact) == moment.replace(microsecond=moment.microsecond)
    assert times.parse_window(exact).end == moment + times.MICROSECOND


@given(st.dates(min_value=datetime(1, 1, 1).date(), max_value=datetime(9999, 12, 30).date()))
def test_iso_date_is_its_whole_utc_day(day: datetime) -> None:
    window = times.parse_window(f"{day.year:04d}-{day.month:02d}-{day.day:02d}")
    assert window.start == datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert window.end == window.start + DAY


@given(MOMENTS)
def test_every_window_holds_its_start_and_not_its_end(moment: datetime) -> None:
    window = times.parse_window(times.format_precise(moment))
    assert window.start in window
    assert window.end not in window


# -- each accepted form, by example ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "width"),
    [
        # ISO date: the whole UTC day.
        ("2026-11-20", utc(2026, 11, 20), DAY),
        # ISO datetime, naive: UTC, as wide as its precision.
        ("2026-11-20T10:15:02", utc(2026, 11, 20, 10, 15, 2), SECOND),
        ("2026-11-20 10:15:02", utc(2026, 11, 20, 10, 15, 2), SECOND),
        ("2026-11-20T10:15", utc(2026, 11, 20, 10, 15), timedelta(minutes=1)),
        ("2026-11-20T10", utc(2026, 11, 20, 10), timedelta(hours=1)),
        ("2026-11-20T10:15:02.5", utc(2026, 11, 20, 10, 15, 2, 500000), times.MICROSECOND),
        # With Z or an offset: converted to UTC.
        ("2026-11-20T10:15:02Z", utc(2026, 11, 20, 10, 15, 2), SECOND),
        ("2026-11-20t10:15:02z", utc(2026, 11, 20, 10, 15, 2), SECOND),
        ("2026-11-20T12:15:02+02:00", utc(2026, 11, 20, 10, 15, 2), SECOND),
        ("2026-11-20T01:15:02-09:00", utc(2026, 11, 20, 10, 15, 2), SECOND),
        ("2026-11-20T10:15:02.123456Z", utc(2026, 11, 20, 10, 15, 2, 123456), times.MICROSECOND),
        # YYYYMMDDHHMMSS.
        ("20261120101502", utc(2026, 11, 20, 10, 15, 2), SECOND),
        # Unix seconds, whole or with a fraction.
        ("1763633702", utc(2025, 11, 20, 10, 15, 2), SECOND),
        ("1763633702.25", utc(2025, 11, 20, 10, 15, 2, 250000), times.MICROSECOND),
        ("0", utc(1970, 1, 1), SECOND),
        # Surrounding blanks are forgiven.
        ("  2026-11-20  ", utc(2026, 11, 20), DAY),
    ],
)
def test_accepted_form(text: str, start: datetime, width: timedelta) -> None:
    window = times.parse_window(text)
    assert (window.start, window.end - window.start) == (start, width)
    assert window.start.tzinfo is not None
    assert times.parse_time(text) == start


@pytest.mark.parametrize("word", ["today", "TODAY", " Today "])
def test_today_is_the_current_utc_day(word: str) -> None:
    before = times.now()
    window = times.parse_window(word)
    after = times.now()
    # Midnight may pass between the calls; the window must hold one of the two moments.
    assert before in window or after in window
    assert window.start == window.start.replace(hour=0, minute=0, second=0, microsecond=0)
    assert window.end - window.start == DAY


def test_yesterday_ends_where_today_starts() -> None:
    today = times.parse_window("today")
    yesterday = times.parse_window("yesterday")
    if yesterday.end != today.start:  # midnight passed between the two calls
        today = times.parse_window("today")
    assert yesterday.end == today.start
    assert yesterday.end - yesterday.start == DAY


def test_now_is_a_single_microsecond_of_the_present() -> None:
    before = times.now()
    window = times.parse_window("now")
    assert before <= window.start <= times.now()
    assert window.end - window.start == times.MICROSECOND


def test_naive_datetimes_are_taken_as_utc_and_aware_ones_converted() -> None:
    assert times.to_utc(datetime(2026, 11, 20, 10)) == utc(2026, 11, 20, 10)
    eastern = timezone(timedelta(hours=-5))
    assert times.to_utc(datetime(2026, 11, 20, 5, tzinfo=eastern)) == utc(2026, 11, 20, 10)
    assert times.to_utc(datetime(2026, 11, 20, 5, tzinfo=eastern)).tzinfo is UTC


def test_formats_show_utc_with_a_z() -> None:
    moment = datetime(2026, 11, 20, 12, 15, 2, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert times.format_time(moment) == "2026-11-20T10:15:02Z"
    assert times.format_precise(moment) == "2026-11-20T10:15:02.123456Z"


def test_day_window_of_any_moment_is_its_utc_day() -> None:
    late = datetime(2026, 11, 20, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert times.day_window(late) == times.Window(utc(2026, 11, 21), utc(2026, 11, 22))


# -- malformed input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "tomorrow",
        "last week",
        "2026-13-01",
        "2026-02-30",
        "2026/11/20",
        "20-11-2026",
        "2026-11-20T25:00",
        "20261301101502",
        "20261120256000",
        "999999999999",  # Unix seconds beyond year 9999
        "-5",
        "1.2.3",
        "12abc",
        "2026-11-20T10:15:02+25:00",
    ],
)
def test_malformed_time_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidTime) as caught:
        times.parse_window(text)
    message = str(caught.value)
    assert repr(text) in message
    for form in ("ISO date", "YYYYMMDDHHMMSS", "Unix seconds", "today", "yesterday"):
        assert form in message
    assert "\n" not in message
    assert isinstance(caught.value, UsageError)
    assert caught.value.exit_code == 2


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz!?#/ ", min_size=1, max_size=20))
def test_words_that_are_not_times_raise_invalid_time(text: str) -> None:
    if text.strip().lower() in ("today", "yesterday", "now"):
        return
    with pytest.raises(InvalidTime):
        times.parse_window(text)
