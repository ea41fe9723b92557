"""Parse refs, the names people give runs and artifacts.

* ``3f2a9c``: a run id prefix (at least 4 hex digits), like a git hash;
* ``process:plain``: the newest run of step ``process`` with key value ``plain``;
* ``process:plain@2026-11-20``: the newest that UTC day; ``@2026-11-20T10:15:02Z``: exact;
* ``process``: the newest run of the step, whatever its value;
* ``xxh128:9a4f...`` (or a hex prefix where an artifact is meant): an artifact by its hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lineage import times
from lineage.errors import InvalidRef

_HEX = re.compile(r"^[0-9a-fA-F]{4,32}$")
_STEP = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
MIN_PREFIX = 4
_SHORT_HEX = re.compile(r"^[0-9a-fA-F]{1,3}$")


@dataclass(frozen=True)
class IdRef:
    """A run named by a prefix of its id."""

    prefix: str

    def __str__(self) -> str:
        return self.prefix


@dataclass(frozen=True)
class IdentityRef:
    """A run named by its typed identity: step, optional key value, optional time window."""

    step: str
    value: str | None = None
    window: times.Window | None = None
    time_text: str | None = None

    def __str__(self) -> str:
        text = self.step if self.value is None else f"{self.step}:{self.value}"
        return f"{text}@{self.time_text}" if self.time_text else text


Ref = IdRef | IdentityRef


def parse_ref(text: str) -> Ref:
    """Parse a run ref; raise InvalidRef naming the accepted forms."""
    value = text.strip()
    if not value:
        raise InvalidRef("an empty ref names nothing: give an id prefix or step:value[@time]")
    if ":" not in value and "@" not in value:
        if _HEX.match(value) and not _STEP.match(value):
            return IdRef(value.lower())
        if _HEX.match(value):
            # Words like "deadbeef" or "add" are both; an all-hex word of 4+ chars is an id.
            return IdRef(value.lower())
        if _STEP.match(value):
            return IdentityRef(value)
        if _SHORT_HEX.match(value):
            raise InvalidRef(
                f"cannot read {text!r} as a ref: an id prefix needs at least {MIN_PREFIX} "
                "characters (copy more of the id from `lineage runs`)"
            )
        raise _invalid(text)
    head, at, when = value.partition("@")
    step, colon, key_value = head.partition(":")
    if not _STEP.match(step) or (colon and not key_value):
        raise _invalid(text)
    if at and not when:
        raise _invalid(text)
    window = times.parse_window(when) if at else None
    return IdentityRef(step, key_value if colon else None, window, when or None)


def check_key_value(key: str, value: str) -> str:
    """Refuse a key value no ref could name again; return it unchanged.

    ``step:value@time`` ends the value at the first ``@``, and a ref is stripped of blanks at
    both ends, so a value holding ``@``, a control character, or blanks at its ends would be
    recorded and then never found.
    """
    why = None
    if not value:
        why = "is empty"
    elif "@" in value:
        why = "holds '@', which starts the time in a ref (step:value@time)"
    elif value != value.strip():
        why = "starts or ends with a blank, which a ref drops"
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        why = "holds a control character"
    if why:
        raise InvalidRef(
            f"{key} value {value!r} {why}, so no ref could name its runs: choose a value "
            "without it (such as one with '-' in its place)"
        )
    return value


def is_hash(text: str) -> bool:
    """Return whether ``text`` looks like an artifact hash or hash prefix (``xxh128:...``)."""
    algorithm, colon, hexdigest = text.partition(":")
    return (
        bool(colon)
        and algorithm.isalnum()
        and _HEX.match(hexdigest) is not None
        and algorithm.startswith("xxh")
    )


def split_artifact_ref(text: str) -> tuple[str, str]:
    """Split ``REF:NAME`` (``process:plain:features``, ``3f2a9c:model.pkl``) at its last colon."""
    ref, colon, name = text.rpartition(":")
    if not colon or not ref or not name:
        raise InvalidRef(
            f"{text!r} names no artifact: use REF:NAME, such as train:LogisticRegression:model.pkl"
        )
    return ref, name


def _invalid(text: str) -> InvalidRef:
    return InvalidRef(
        f"cannot read {text!r} as a ref: use an id prefix (3f2a9c), step:value "
        "(process:plain) or step:value@time (process:plain@2026-11-20)"
    )
