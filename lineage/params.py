"""Declared parameters: their types, how a value converts to one, and how a recorded one reads.

A parameter is recorded as text (``lineage.hashing.param_text``); lineage.toml gives it a type.
Here that text becomes a value again, and a value a person types finds every text it was
recorded as (``C=.5`` finds ``0.5``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lineage.errors import UsageError
from lineage.hashing import param_text

PARAM_TYPES = ("string", "int", "float", "bool", "path", "uri")
# The fields a parameter may have in lineage.toml: a new one is one line here.
PARAM_FIELDS = ("type", "default")


@dataclass(frozen=True)
class ParamSpec:
    """A declared parameter of a step: its type and default."""

    name: str
    type: str = "string"
    default: Any = None
    required: bool = False

    def convert(self, raw: Any, where: str = "") -> Any:
        """Check and convert a value to this parameter's type; raise UsageError if it is not."""
        try:
            return convert(self.type, raw)
        except (TypeError, ValueError):
            place = f" of {where}" if where else ""
            raise UsageError(
                f"parameter {self.name}{place} must be a {self.type}, not {raw!r}"
            ) from None


def type_of(value: Any) -> str:
    """Return the type a bare default has: ``C = 1.0`` declares a float."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def convert(kind: str, raw: Any) -> Any:
    """Convert ``raw`` to a value of type ``kind``; raise ValueError or TypeError if it is none."""
    if kind == "int":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(raw)
        return int(raw)
    if kind == "float":
        if isinstance(raw, bool):
            raise ValueError(raw)
        return float(raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(raw)
    if kind == "uri":
        text = str(raw)
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
            raise ValueError(raw)
        return text
    if not isinstance(raw, (str, int, float)):
        raise TypeError(raw)
    return str(raw)


def typed_params(
    params: dict[str, str], specs: dict[str, ParamSpec] | None = None
) -> dict[str, Any]:
    """Return recorded parameter texts as values: of their declared type, else as they read.

    Undeclared ones (logged through the SDK) are numbers or booleans when the text is exactly
    how such a value is recorded (``3``, ``0.5``, ``true``), and text otherwise (``007``).
    """
    typed: dict[str, Any] = {}
    for name, text in params.items():
        spec = (specs or {}).get(name)
        if spec is not None:
            try:
                typed[name] = convert(spec.type, text)
                continue
            except (TypeError, ValueError):
                pass  # recorded before the type changed: shown as it was recorded
        typed[name] = _literal(text)
    return typed


def param_spellings(text: str, specs: list[ParamSpec]) -> tuple[str, ...]:
    """Return every recorded text that means the value ``text`` (``.5`` -> ``0.5``, ``.5``).

    A declared parameter is recorded as its typed value's text; an undeclared number as the
    text of that number, an int or a float (``1`` and ``1.0`` are the same value).
    """
    spellings = [text]
    for spec in specs:
        try:
            spellings.append(param_text(convert(spec.type, text)))
        except (TypeError, ValueError):
            continue
    try:
        number: float | None = float(text)
    except ValueError:
        number = None
    if number is not None and number == number and abs(number) != float("inf"):
        spellings.append(param_text(number))
        if number.is_integer():
            spellings.append(param_text(int(number)))
    return tuple(dict.fromkeys(spellings))


def _literal(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if param_text(value) == text and value == value and abs(value) != float("inf"):
            return value
    return text
