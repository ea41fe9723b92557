"""Export OpenLineage events: to a JSON lines file or stream, or POSTed to an endpoint."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from lineage.catalog import Catalog, RunInfo
from lineage.errors import FileError, InterchangeError
from lineage.interchange.openlineage import Progress, Settings, dumps, iter_events, write_jsonl


@dataclass
class ExportResult:
    """What an export wrote: how many runs and events, and where to."""

    runs: int
    events: int
    target: str


def export(
    catalog: Catalog,
    settings: Settings,
    *,
    runs: Sequence[RunInfo] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    out: Path | IO[bytes] | None = None,
    url: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the events of runs as JSON lines to ``out`` (a path or a binary stream), or POST
    them one by one to ``url``.

    A file is written under a temporary name and renamed when complete, so a failed export
    leaves no half file behind. A POST that fails stops the export and says how far it got;
    exporting again sends the same events (the same runIds), which endpoints take as updates.
    """
    counted: list[int] = [0]

    def tracked(done: int, total: int) -> None:
        counted[0] = total
        if progress:
            progress(done, total)

    events = iter_events(catalog, settings, runs=runs, since=since, until=until, progress=tracked)
    if url is not None:
        from lineage.interchange.endpoint import Endpoint

        sent = 0
        with Endpoint(url) as endpoint:
            for event in events:
                try:
                    endpoint.post(dumps(event))
                except InterchangeError as error:
                    raise InterchangeError(
                        f"{error} (after {sent} events were sent; exporting again sends the "
                        "same events)"
                    ) from None
                sent += 1
        return ExportResult(counted[0], sent, endpoint.masked_url)
    if out is None or not isinstance(out, Path):
        written = write_jsonl(events, out if out is not None else sys.stdout.buffer)
        return ExportResult(counted[0], written, "-")
    written = _write_file(events, out)
    return ExportResult(counted[0], written, str(out))


def _write_file(events: Iterable[dict[str, Any]], path: Path) -> int:
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    except OSError as error:
        raise FileError(
            f"cannot write {str(path)!r}: {error.strerror or error}: choose another file"
        ) from None
    try:
        with os.fdopen(fd, "wb") as stream:
            count = write_jsonl(events, stream)
        os.replace(temporary, path)
    except OSError as error:
        raise FileError(
            f"cannot write {str(path)!r}: {error.strerror or error}: choose another file"
        ) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return count
