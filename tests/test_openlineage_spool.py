"""Events emitted as runs start and end (``[openlineage] url``), through the local spool.

A real endpoint on loopback receives them; a closed port and an endpoint that never answers
show that a run neither fails nor waits, and that the spool is sent later.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pyarrow as pa
import pytest

import lineage
from lineage.errors import InterchangeError, UsageError
from lineage.interchange import openlineage as ol
from lineage.interchange import spool
from lineage.session import open_session
from tests.helpers import close_sessions
from tests.lineage_endpoint import closed_port_url, endpoint
from tests.openlineage_schema import validate
from tests.pipelines import make_pipeline


def configure(root: Path, url: str, extra: str = "") -> None:
    path = root / "lineage.toml"
    before = path.read_text() if path.exists() else ""
    path.write_text(f'{before}\n[openlineage]\nurl = "{url}"\n{extra}')


def record_load(table: str = "transactions") -> lineage.ActiveRun:
    with lineage.start_run("load", table=table) as run:
        run.log_table("data", pa.table({"x": [1, 2, 3]}))
    return run


def spooled(root: Path) -> list[dict]:
    return [json.loads(p.read_bytes()) for p in spool.pending(root / ".lineage")]


def test_a_run_emits_its_start_and_end_to_the_endpoint(project: Path) -> None:
    with endpoint() as received:
        configure(project, received.url)
        run = record_load()
        spool.wait(10)
    assert [e["eventType"] for e in received.events] == ["START", "COMPLETE"]
    for event in received.events:
        validate(event)
        assert event["run"]["runId"] == ol.run_uuid(run.id)
    assert received.events[1]["outputs"][0]["name"] == "load.transactions/data"
    assert spool.pending(project / ".lineage") == []
    assert spool.last_error(project / ".lineage") is None


def test_an_endpoint_that_is_down_neither_fails_the_run_nor_loses_its_events(
    project: Path,
) -> None:
    configure(project, closed_port_url())
    run = record_load()
    spool.wait(10)
    assert open_session().catalog.get_run(run.id).status == "finished"
    events = spooled(project)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    error = spool.last_error(project / ".lineage")
    assert error is not None and "cannot reach OpenLineage endpoint http://127.0.0.1:" in error

    # Later, --flush sends the spool (oldest first) to an endpoint that is up.
    with endpoint() as received:
        result = spool.flush(project / ".lineage", {}, url=received.url)
    assert (result.sent, result.left) == (2, 0)
    assert received.events == events
    assert spool.pending(project / ".lineage") == []
    assert spool.last_error(project / ".lineage") is None


def test_the_next_emission_sends_what_waited(project: Path) -> None:
    configure(project, closed_port_url())
    first = record_load("transactions")
    spool.wait(10)
    assert len(spooled(project)) == 2
    with endpoint() as received:
        (project / "lineage.toml").write_text(f'[openlineage]\nurl = "{received.url}"\n')
        close_sessions()  # a new process reads lineage.toml anew
        second = record_load("customers")
        spool.wait(10)
    runs = [ol.run_uuid(first.id)] * 2 + [ol.run_uuid(second.id)] * 2
    assert [e["run"]["runId"] for e in received.events] == runs
    assert spool.pending(project / ".lineage") == []


def test_an_endpoint_that_never_answers_does_not_hold_the_run(project: Path) -> None:
    # A socket that listens but never accepts: connecting works, no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        configure(project, f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1/lineage")
        run = record_load()
        # The run is over and recorded while its events are still waiting for an answer.
        assert open_session().catalog.get_run(run.id).status == "finished"
        assert len(spooled(project)) >= 1
        spool.wait(spool.SEND_TIMEOUT * 4)
    assert [e["eventType"] for e in spooled(project)] == ["START", "COMPLETE"]
    error = spool.last_error(project / ".lineage")
    assert error is not None and "no answer within 2 s" in error


def test_a_refusing_endpoint_keeps_the_events_and_flush_says_so(project: Path) -> None:
    with endpoint() as received:
        received.status = 503
        configure(project, received.url)
        record_load()
        spool.wait(10)
        assert len(spooled(project)) == 2
        with pytest.raises(InterchangeError, match=r"answered 503 .*\(2 events still spooled\)"):
            spool.flush(project / ".lineage", {"openlineage": {"url": received.url}})


def test_a_malformed_section_never_fails_a_run_and_is_reported(project: Path) -> None:
    (project / "lineage.toml").write_text("[openlineage]\nurl = 5\n")
    run = record_load()
    assert open_session().catalog.get_run(run.id).status == "finished"
    assert spooled(project) == []
    error = spool.last_error(project / ".lineage")
    assert error is not None and "[openlineage] url must be a non-empty string" in error


def test_flush_needs_a_url(project: Path) -> None:
    with pytest.raises(UsageError, match=r"no OpenLineage URL to send the spool to"):
        spool.flush(project / ".lineage", {})


@pytest.mark.slow
def test_a_resolve_emits_every_launched_run_with_the_resolve_as_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_pipeline(tmp_path / "pipeline")
    monkeypatch.chdir(root)
    with endpoint() as received:
        configure(root, received.url)
        chain = lineage.resolve({"table": "transactions", "logic": "plain", "algorithm": "rf"})
        spool.wait(10)
    launched = {ol.run_uuid(link.run.id) for link in chain.links if link.run}
    assert len(launched) == 3
    events = received.events
    assert [e["eventType"] for e in events].count("START") == 3
    assert [e["eventType"] for e in events].count("COMPLETE") == 3
    assert {e["run"]["runId"] for e in events} == launched
    parents = {json.dumps(e["run"]["facets"]["parent"]["run"]) for e in events}
    assert len(parents) == 1  # one resolve launched them all
    for event in events:
        validate(event)
    # What was emitted live ends the same way an export of the catalog does.
    session = open_session()
    settings = ol.settings_for(session.project.root, session.project.config)
    exported = [e for e in ol.iter_events(session.catalog, settings) if e["eventType"] != "START"]
    live = [e for e in events if e["eventType"] != "START"]
    assert sorted(map(ol.dumps, exported)) == sorted(map(ol.dumps, live))
