"""What every page shares: the page record, where the catalog is, and reading the query.

A page builder returns a ``Page``: the JSON twin's document (``data``) and what only the HTML
needs (drawings, form state). Builders read the query through ``Query`` and raise
``LineageError`` subclasses for bad input; the app turns those into one-line 4xx pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from lineage import api, hashing, times
from lineage.errors import UsageError
from lineage.session import Session

MAX_LIMIT = 500


@dataclass
class Page:
    """A rendered page's content: its template, title, JSON document and HTML-only extras."""

    template: str
    title: str
    data: dict[str, Any]
    html: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sources:
    """The catalog and store the UI reads (None: the project's own, as the CLI finds them)."""

    catalog: str | None = None
    store: str | None = None

    def session(self) -> Session:
        return api.session(self.catalog, self.store)


class Query:
    """The query string of a request, as lists of values per name (``?run=a&run=b``)."""

    def __init__(self, items: Sequence[tuple[str, str]] = ()) -> None:
        self.items = list(items)

    @classmethod
    def of(cls, mapping: Mapping[str, str | Sequence[str]]) -> Query:
        items: list[tuple[str, str]] = []
        for name, value in mapping.items():
            items.extend((name, v) for v in ([value] if isinstance(value, str) else value))
        return cls(items)

    def many(self, name: str) -> list[str]:
        """Return the non-empty values given for ``name`` (empty form fields are unset)."""
        return [v.strip() for k, v in self.items if k == name and v.strip()]

    def one(self, name: str) -> str | None:
        values = self.many(name)
        return values[-1] if values else None

    def names(self) -> list[str]:
        return list(dict.fromkeys(k for k, _ in self.items))

    def number(self, name: str, default: int, low: int, high: int) -> int:
        """Return an integer option within [low, high]; anything else is a usage error."""
        text = self.one(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise UsageError(f"{name} must be a whole number from {low} to {high}, not {text!r}")
        return value

    def url(self, path: str, **changes: str | None) -> str:
        """Return ``path`` with this query, ``changes`` replacing (None: dropping) values."""
        kept = [(k, v) for k, v in self.items if k not in changes and k != "token" and v.strip()]
        kept += [(k, v) for k, v in changes.items() if v is not None]
        return path + ("?" + urlencode(kept) if kept else "")


def run_url(run_id: str) -> str:
    return f"/runs/{quote(run_id, safe='')}"


def ref_url(kind: str, ref: str) -> str:
    return f"/{kind}/{quote(ref, safe=':@')}"


def cursor(moment: datetime, run_id: str) -> str:
    """Return the paging cursor after a run: its precise time and id."""
    return f"{times.format_precise(moment)}_{run_id}"


def parse_cursor(text: str | None) -> tuple[datetime, str] | None:
    """Parse a cursor made by ``cursor``; anything else is a usage error."""
    if text is None:
        return None
    moment, _, run_id = text.rpartition("_")
    if len(run_id) != hashing.HEX_LENGTH or any(c not in "0123456789abcdef" for c in run_id):
        raise UsageError(f"before={text!r} is not a page cursor: follow the 'older' link instead")
    return times.parse_time(moment), run_id


def check_hash(text: str) -> str:
    """Return ``text`` if it is a whole artifact hash (``xxh128:`` and 32 hex digits)."""
    algorithm, _, hexdigest = text.partition(":")
    if (
        algorithm != hashing.ALGORITHM
        or len(hexdigest) != hashing.HEX_LENGTH
        or any(c not in "0123456789abcdef" for c in hexdigest)
    ):
        raise UsageError(
            f"{text[:80]!r} is not an artifact hash: use xxh128: and 32 hex digits, "
            "as the run page links them"
        )
    return text
