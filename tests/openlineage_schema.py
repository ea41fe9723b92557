"""Validate OpenLineage events offline against the pinned specification in tests/data/openlineage.

Each event is checked against the core schema (``2-0-2/OpenLineage.json``) and every facet in
it against the schema its own ``_schemaURL`` names, as the core schema types facets only as
generic objects. URLs under ``https://openlineage.io/spec/`` are read from the local copies
through a ``referencing.Registry``; any other URL is an error, never a download.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

SPEC = Path(__file__).resolve().parent / "data" / "openlineage"
PREFIX = "https://openlineage.io/spec/"
CORE = f"{PREFIX}2-0-2/OpenLineage.json"
FORMATS = FormatChecker()


def _retrieve(uri: str) -> Resource:
    if not uri.startswith(PREFIX):
        raise NoSuchResource(ref=uri)
    path = SPEC / uri[len(PREFIX) :]
    if not path.is_file():
        raise NoSuchResource(ref=uri)
    return Resource.from_contents(json.loads(path.read_text()))


REGISTRY: Registry = Registry(retrieve=_retrieve)  # type: ignore[call-arg]


@cache
def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=REGISTRY, format_checker=FORMATS)


def facets_of(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Return every ``(key, facet)`` of an event: run, job, dataset, input and output facets."""
    found: list[tuple[str, dict[str, Any]]] = []
    found.extend(event.get("run", {}).get("facets", {}).items())
    found.extend(event.get("job", {}).get("facets", {}).items())
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        for group in ("facets", "inputFacets", "outputFacets"):
            found.extend(dataset.get(group, {}).items())
    return found


def errors(event: dict[str, Any]) -> list[str]:
    """Return what is wrong with an event (empty when it validates)."""
    problems = [f"core: {e.message} at {list(e.path)}" for e in _validator(CORE).iter_errors(event)]
    for key, facet in facets_of(event):
        url = facet.get("_schemaURL", "")
        problems.extend(
            f"{key}: {e.message} at {list(e.path)}" for e in _validator(url).iter_errors(facet)
        )
        # The key an event files a facet under is the one its schema file declares.
        document = json.loads((SPEC / url[len(PREFIX) :].partition("#")[0]).read_text())
        if key not in document.get("properties", {}):
            problems.append(f"{key}: the schema {url} files this facet under another key")
    return problems


def validate(event: dict[str, Any]) -> None:
    """Raise AssertionError listing every problem of an event."""
    problems = errors(event)
    assert not problems, "\n".join(problems)
