"""Parse and format times, dates and windows. Times are timezone-aware UTC everywhere inside.

Accepted input: ISO dates (``2026-11-20``) and datetimes (naive means UTC), ``YYYYMMDD``,
``YYYYMMDDHHMMSS``, Unix seconds, and the words ``today``, ``yesterday`` and ``now``. Every input
names a window: a date is its whole UTC day, a datetime is as wide as its precision
(``10:15:02`` is that whole second), so ``process:plain@2026-11-20T10:15:02Z`` finds the run
shown with that time.

What could mean two things is refused rather than guessed: ISO week and ordinal dates
(``2026-W47-5``, ``2026-324``), a bare year (``2026`` is not a second of 1970), and the other
ISO spellings ``datetime.fromisoformat`` would take with a window nobody meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lineage.errors import InvalidTime

MICROSECOND = timedelta(microseconds=1)
_COMPACT = re.compile(r"^\d{14}$")
_COMPACT_DATE = re.compile(r"^\d{8}$")
_YEAR = re.compile(r"^\d{4}$")
_UNIX = re.compile(r"^\d{1,12}(\.\d{1,6})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The ISO datetimes taken: the extended calendar form, to the hour, minute, second or fraction.
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}(:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2}|[+-]\d{2})?$"
)
_WEEK = re.compile(r"^\d{4}-?W\d{2}(-?\d)?", re.I)
_ORDINAL = re.compile(r"^\d{4}-?\d{3}$")
_FRACTION = re.compile(r"[T ]\d{2}:\d{2}:\d{2}\.(\d+)")
_SECONDS = re.compile(r"[T ]\d{2}:\d{2}:\d{2}")
_MINUTES = re.compile(r"[T ]\d{2}:\d{2}")

FORMATS_HELP = (
    "an ISO date or datetime (2026-11-20, 2026-11-20T10:15:02Z), YYYYMMDD, YYYYMMDDHHMMSS, "
    "Unix seconds, today or yesterday"
)


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval ``[start, end)`` named by one time input."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """Return ``moment`` as aware UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def day_window(day: datetime) -> Window:
    """Return the whole UTC day containing ``day``."""
    start = to_utc(day).replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(start, start + timedelta(days=1))


def parse_window(text: str) -> Window:
    """Parse any accepted time input into the window it names."""
    try:
        window = _parse_window(text)
    except OverflowError:
        # The last day of year 9999 has no end a datetime can hold, nor has an offset time
        # that UTC moves past the calendar's ends.
        raise _out_of_range(text) from None
    if window.end.year > 9999 or window.start.year < 1:
        raise _out_of_range(text)
    return window


def _parse_window(text: str) -> Window:
    value = text.strip()
    lowered = value.lower()
    if lowered in ("today", "yesterday"):
        today = day_window(now())
        if lowered == "today":
            return today
        return Window(today.start - timedelta(days=1), today.start)
    if lowered == "now":
        moment = now()
        return Window(moment, moment + MICROSECOND)
    _refuse_ambiguous(text, value)
    if _COMPACT.match(value):
        try:
            moment = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            raise _invalid(text) from None
        return Window(moment, moment + timedelta(seconds=1))
    if _COMPACT_DATE.match(value):
        try:
            return day_window(datetime.strptime(value, "%Y%m%d"))
        except ValueError:
            raise InvalidTime(
                f"cannot read {text!r} as a time: eight digits are a date YYYYMMDD "
                "(20261120), and this is no such date"
            ) from None
    if _UNIX.match(value):
        try:
            moment = datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise _invalid(text) from None
        width = MICROSECOND if "." in value else timedelta(seconds=1)
        # float() rounds sub-microsecond noise; rebuild from the integer parts to stay exact.
        whole, _, fraction = value.partition(".")
        moment = datetime.fromtimestamp(int(whole), UTC) + timedelta(
            microseconds=int(fraction.ljust(6, "0")) if fraction else 0
        )
        return Window(moment, moment + width)
    if _DATE.match(value):
        try:
            return day_window(datetime.fromisoformat(value))
        except ValueError:
            raise _invalid(text) from None
    # ISO 8601 letters are case-insensitive: "2026-11-20t10:15:02z" is the same second.
    iso = value.upper()
    if not _ISO.match(iso):
        raise _invalid(text)
    try:
        moment = to_utc(datetime.fromisoformat(iso))
    except ValueError:
        raise _invalid(text) from None
    return Window(moment, moment + _precision(iso))


def _refuse_ambiguous(text: str, value: str) -> None:
    """Refuse the forms a person may mean otherwise than datetime would read them."""
    if _WEEK.match(value):
        what = "an ISO week date"
    elif _ORDINAL.match(value):
        what = "an ISO ordinal date (day of the year)"
    elif _YEAR.match(value):
        what = "a year or Unix seconds"
    else:
        return
    raise InvalidTime(
        f"{text!r} could be {what}: write the calendar date, such as 2026-11-20 "
        "(or 2026-11-20T10:15:02Z for a moment)"
    )


def parse_time(text: str) -> datetime:
    """Parse a time input into one moment: the start of the window it names."""
    return parse_window(text).start


def _precision(value: str) -> timedelta:
    if _FRACTION.search(value):
        return MICROSECOND
    if _SECONDS.search(value):
        return timedelta(seconds=1)
    if _MINUTES.search(value):
        return timedelta(minutes=1)
    return timedelta(hours=1)


def _invalid(text: str) -> InvalidTime:
    return InvalidTime(f"cannot read {text!r} as a time: use {FORMATS_HELP}")


def _out_of_range(text: str) -> InvalidTime:
    return InvalidTime(
        f"time {text!r} is out of range: use a time between 0001-01-02 and 9999-12-30"
    )


# isoformat() rather than strftime("%Y"): glibc does not pad years before 1000 to four digits,
# and an unpadded year ("999-01-01") cannot be read back.
def format_time(moment: datetime) -> str:
    """Format for people: ISO 8601 UTC to the second, ``2026-11-20T10:15:02Z``."""
    return to_utc(moment).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def format_precise(moment: datetime) -> str:
    """Format for scripts: ISO 8601 UTC with microseconds, ``2026-11-20T10:15:02.123456Z``."""
    return to_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_DURATION = re.compile(r"^(?P<number>\d+(\.\d+)?)\s*(?P<unit>s|m|h|d|w)?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``10m``, ``1h``, ``2d``, ``1w`` or plain seconds into a timedelta."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidTime(
            f"cannot read {text!r} as a duration: use a number with s, m, h, d or w, "
            "such as 30s, 10m or 1h"
        )
    seconds = float(match["number"]) * _UNIT_SECONDS[match["unit"] or "s"]
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise InvalidTime(f"duration {text!r} is too long") from None
