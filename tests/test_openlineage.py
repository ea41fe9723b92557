"""OpenLineage export through the library: the mapping, validity, order, determinism, HTTP."""

from __future__ import annotations

import io
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import lineage
from lineage.catalog import Catalog, RunInfo
from lineage.errors import FileError, InterchangeError, UsageError
from lineage.interchange import export as ol_export
from lineage.interchange import openlineage as ol
from lineage.interchange.endpoint import Endpoint
from lineage.session import open_session
from tests.lineage_endpoint import closed_port_url, endpoint
from tests.openlineage_schema import errors, validate

RETRIEVED = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def record_chain() -> dict[str, RunInfo]:
    """Record load -> process -> train (failed) through the SDK, plus a killed and a running run."""
    with lineage.start_run("load", table="transactions", time=RETRIEVED) as load:
        load.log_table("data", pa.table({"amount": [1.5, 2.5], "id": [1, 2]}))
        load.log_metric("rows", 2)
    with lineage.start_run("process", logic="plain", upstream=["load:transactions"]) as process:
        data = process.input_table("data")
        process.log_param("fill", "mean")
        process.log_table("features", data)
    with (
        pytest.raises(ValueError),
        lineage.start_run(
            "train", algorithm="LogisticRegression", upstream=["process:plain"]
        ) as train,
    ):
        train.input_table("features")
        train.log_param("C", 10)
        raise ValueError("diverged at iteration 3")
    catalog = open_session().catalog
    killed = catalog.start_run("load", "table", "customers")
    catalog.end_run(killed.id, "killed", error="interrupted (Ctrl-C)")
    running = catalog.start_run("load", "table", "orders")
    return {
        name: catalog.get_run(run.id)
        for name, run in (
            ("load", load.info),
            ("process", process.info),
            ("train", train.info),
            ("killed", killed),
            ("running", running),
        )
    }


def export_all(**options: Any) -> list[dict[str, Any]]:
    session = open_session()
    settings = ol.settings_for(session.project.root, session.project.config)
    return list(ol.iter_events(session.catalog, settings, **options))


def by_run(events: list[dict[str, Any]], run: RunInfo) -> list[dict[str, Any]]:
    return [e for e in events if e["run"]["runId"] == ol.run_uuid(run.id)]


def test_every_event_validates_against_the_core_schema_and_its_facets_schemas(
    project: Path,
) -> None:
    record_chain()
    events = export_all()
    assert len(events) == 9  # five STARTs, four ends (the running run has none)
    for event in events:
        validate(event)


def test_the_validator_catches_a_broken_event_and_a_broken_facet(project: Path) -> None:
    record_chain()
    event = export_all()[0]
    assert errors(event) == []
    broken = {**event, "run": {**event["run"], "runId": "not-a-uuid"}}
    assert errors(broken)
    facet = dict(event["run"]["facets"]["nominalTime"])
    del facet["nominalStartTime"]
    broken = {**event, "run": {**event["run"], "facets": {"nominalTime": facet}}}
    assert any("nominalStartTime" in problem for problem in errors(broken))


def test_the_mapping_of_runs_jobs_datasets_and_facets(project: Path) -> None:
    runs = record_chain()
    events = export_all()
    namespace = "lineage.project"  # the project folder's name

    load_start, load_end = by_run(events, runs["load"])
    assert (load_start["eventType"], load_end["eventType"]) == ("START", "COMPLETE")
    assert load_start["run"]["runId"] == str(uuid.UUID(hex=runs["load"].id))
    assert load_start["job"] == {
        "namespace": namespace,
        "name": "load.transactions",
        "facets": load_start["job"]["facets"],
    }
    assert load_start["job"]["facets"]["jobType"]["processingType"] == "BATCH"
    assert load_start["eventTime"] == lineage_time(runs["load"].started_at)
    assert load_end["eventTime"] == lineage_time(runs["load"].ended_at)
    nominal = load_start["run"]["facets"]["nominalTime"]["nominalStartTime"]
    assert nominal == "2026-11-20T06:00:00.000000Z"
    assert load_start["outputs"] == []
    (data,) = load_end["outputs"]
    produced = open_session().catalog.outputs(runs["load"].id)[0]
    assert data["name"] == "load.transactions/data"
    assert data["namespace"] == namespace
    assert data["facets"]["version"]["datasetVersion"] == produced.hash
    assert produced.hash.startswith("xxh128:")
    assert [f["name"] for f in data["facets"]["schema"]["fields"]] == ["amount", "id"]
    assert data["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert data["outputFacets"]["outputStatistics"]["size"] == produced.size

    process_start, process_end = by_run(events, runs["process"])
    # The input is named by the slot it came from and carries the hash actually consumed.
    (consumed,) = process_end["inputs"]
    assert consumed["name"] == "load.transactions/data"
    assert consumed["facets"]["version"]["datasetVersion"] == produced.hash
    assert process_start["inputs"] == process_end["inputs"]
    dependencies = process_start["run"]["facets"]["jobDependencies"]["upstream"]
    assert dependencies == [
        {
            "job": {"namespace": namespace, "name": "load.transactions"},
            "run": {"runId": ol.run_uuid(runs["load"].id)},
        }
    ]
    parameters = process_start["run"]["facets"]["executionParameters"]["parameters"]
    assert {"key": "fill", "value": "mean"} in parameters
    assert [o["name"] for o in process_end["outputs"]] == ["process.plain/features"]

    _, train_end = by_run(events, runs["train"])
    assert train_end["eventType"] == "FAIL"
    error = train_end["run"]["facets"]["errorMessage"]
    assert error["message"] == "ValueError: diverged at iteration 3"
    assert error["programmingLanguage"] == "python"
    assert train_end["inputs"][0]["name"] == "process.plain/features"

    (_, killed_end) = by_run(events, runs["killed"])
    assert killed_end["eventType"] == "ABORT"
    (running_start,) = by_run(events, runs["running"])
    assert running_start["eventType"] == "START"


def lineage_time(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def test_events_are_sorted_by_event_time_and_each_start_comes_before_its_end(
    project: Path,
) -> None:
    record_chain()
    events = export_all()
    stamps = [e["eventTime"] for e in events]
    assert stamps == sorted(stamps)
    seen: set[str] = set()
    for event in events:
        run_id = event["run"]["runId"]
        if event["eventType"] == "START":
            seen.add(run_id)
        else:
            assert run_id in seen


def test_ends_interleave_with_later_starts_whatever_the_page_size(tmp_path: Path) -> None:
    # Overlapping runs recorded with chosen times: A [0, 50], B [10, 20], C [20, 30], D [60, -].
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    catalog = Catalog(url, create=True)
    spans = {"a": (0, 50), "b": (10, 20), "c": (20, 30), "d": (60, None)}
    for n, (name, (start, end)) in enumerate(spans.items()):
        catalog.record_run(
            RunInfo(
                id=f"{n + 1:032x}",
                step="load",
                key="table",
                value=name,
                time=t0,
                status="running" if end is None else "finished",
                started_at=t0 + timedelta(seconds=start),
                ended_at=None if end is None else t0 + timedelta(seconds=end),
            )
        )
    settings = ol.Settings("ns")
    outputs = []
    for page in (1, 2, 1000):
        events = list(ol.iter_events(catalog, settings, page=page))
        outputs.append(b"".join(ol.dumps(e) for e in events))
        order = [(e["job"]["name"].split(".")[1], e["eventType"]) for e in events]
        # An end and a start at the same instant: the end first (b ends as c starts).
        assert order == [
            ("a", "START"),
            ("b", "START"),
            ("b", "COMPLETE"),
            ("c", "START"),
            ("c", "COMPLETE"),
            ("a", "COMPLETE"),
            ("d", "START"),
        ]
    assert outputs[0] == outputs[1] == outputs[2]
    catalog.close()


def test_exporting_twice_gives_the_same_bytes(project: Path) -> None:
    record_chain()
    session = open_session()
    settings = ol.settings_for(session.project.root, session.project.config)
    first, second = project / "first.jsonl", project / "second.jsonl"
    result = ol_export.export(session.catalog, settings, out=first)
    assert (result.runs, result.events, result.target) == (5, 9, str(first))
    ol_export.export(session.catalog, settings, out=second)
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_bytes().splitlines()
    assert len(lines) == 9
    stream = io.BytesIO()
    ol_export.export(session.catalog, settings, out=stream)
    assert stream.getvalue() == first.read_bytes()
    # No temporary file is left beside the export.
    assert sorted(p.name for p in project.glob("*.jsonl*")) == ["first.jsonl", "second.jsonl"]


def test_an_export_that_cannot_write_its_file_says_so(project: Path) -> None:
    record_chain()
    session = open_session()
    settings = ol.settings_for(session.project.root, session.project.config)
    with pytest.raises(FileError, match=r"cannot write '.*/missing/out.jsonl': .*choose another"):
        ol_export.export(session.catalog, settings, out=project / "missing" / "out.jsonl")


def test_progress_counts_runs_and_since_until_select_runs_by_start(project: Path) -> None:
    runs = record_chain()
    calls: list[tuple[int, int]] = []
    events = export_all(page=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
    assert len(events) == 9
    since = runs["train"].started_at
    later = export_all(since=since)
    names = {e["job"]["name"] for e in later}
    assert names == {"train.LogisticRegression", "load.customers", "load.orders"}
    until = export_all(until=since)
    assert {e["job"]["name"] for e in until} == {"load.transactions", "process.plain"}


def test_chosen_runs_only(project: Path) -> None:
    runs = record_chain()
    events = export_all(runs=[runs["train"], runs["load"]])
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("load.transactions", "START"),
        ("load.transactions", "COMPLETE"),
        ("train.LogisticRegression", "START"),
        ("train.LogisticRegression", "FAIL"),
    ]


def test_namespace_comes_from_lineage_toml(project: Path) -> None:
    (project / "lineage.toml").write_text('[openlineage]\nnamespace = "fraud-team"\n')
    record_chain()
    events = export_all()
    assert {e["job"]["namespace"] for e in events} == {"fraud-team"}
    assert ol.settings_for(Path("/x/my project!"), {}).namespace == "lineage.my-project"


def test_run_ids_map_to_uuids_deterministically() -> None:
    hex_id = "3f2a9c" + "0" * 26
    assert ol.run_uuid(hex_id) == "3f2a9c00-0000-0000-0000-000000000000"
    other = ol.run_uuid("not-hex")
    assert other == ol.run_uuid("not-hex") and uuid.UUID(other).version == 5


def test_parent_and_source_code_location_facets(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    run = RunInfo(
        id="ab" * 16,
        step="train",
        key="algorithm",
        value="rf",
        time=t0,
        status="finished",
        started_at=t0,
        ended_at=t0 + timedelta(seconds=1),
        git_commit="c0ffee" * 6 + "abcd",
        git_dirty=True,
        code_hash="xxh128:" + "1" * 32,
        command="python steps/train.py rf",
        tags={ol.RESOLVE_TAG: "cd" * 16},
    )
    settings = ol.Settings("ns", source_url="https://git.example.com/team/fraud.git")
    record = ol.RunRecord(run=run)
    start = ol.start_event(record, settings)
    end = ol.end_event(record, settings)
    assert end is not None
    for event in (start, end):
        validate(event)
    parent = start["run"]["facets"]["parent"]
    assert parent["run"] == {"runId": ol.run_uuid("cd" * 16)}
    assert parent["job"] == {"namespace": "ns", "name": "resolve"}
    location = start["job"]["facets"]["sourceCodeLocation"]
    assert (location["type"], location["version"]) == ("git", run.git_commit)
    assert location["url"] == "https://git.example.com/team/fraud.git"
    parameters = start["run"]["facets"]["executionParameters"]["parameters"]
    assert {"key": "lineage.code_hash", "value": run.code_hash} in parameters
    assert {"key": "lineage.git_dirty", "value": "true"} in parameters


def test_the_repository_url_never_carries_credentials(tmp_path: Path) -> None:
    def remote(url: str) -> str | None:
        repo = tmp_path / str(abs(hash(url)))
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", url], check=True)
        return ol._repository_url(str(repo))

    assert remote("https://ana:s3cret@git.example.com/team/fraud.git") == (
        "https://git.example.com/team/fraud.git"
    )
    assert remote("git@git.example.com:team/fraud.git") == (
        "ssh://git@git.example.com/team/fraud.git"
    )
    bare = tmp_path / "bare"
    bare.mkdir()
    assert ol._repository_url(str(bare)) == bare.as_uri()


# -- HTTP -------------------------------------------------------------------------------------


def test_a_loopback_endpoint_receives_every_event_in_order(project: Path) -> None:
    record_chain()
    session = open_session()
    settings = ol.settings_for(session.project.root, session.project.config)
    stream = io.BytesIO()
    ol_export.export(session.catalog, settings, out=stream)
    with endpoint() as received:
        result = ol_export.export(session.catalog, settings, url=received.url)
    assert (result.events, result.target) == (9, received.url)
    assert received.bodies == stream.getvalue().splitlines()
    assert set(received.paths) == {"/api/v1/lineage"}
    assert {h["Content-Type"] for h in received.headers} == {"application/json"}


def test_an_endpoint_that_refuses_stops_the_export_with_its_answer(project: Path) -> None:
    record_chain()
    session = open_session()
    settings = ol.settings_for(session.project.root, session.project.config)
    with endpoint() as received:
        received.status = 500
        with pytest.raises(InterchangeError) as caught:
            ol_export.export(session.catalog, settings, url=received.url)
    assert str(caught.value) == (
        f"OpenLineage endpoint {received.url} answered 500 Internal Server Error: "
        '{"error": "told to fail"} (after 0 events were sent; exporting again sends the same '
        "events)"
    )


def test_an_endpoint_that_is_down_is_one_line(project: Path) -> None:
    record_chain()
    session = open_session()
    settings = ol.settings_for(session.project.root, session.project.config)
    url = closed_port_url()
    with pytest.raises(InterchangeError, match=r"^cannot reach OpenLineage endpoint .*: "):
        ol_export.export(session.catalog, settings, url=url)


def test_an_endpoint_url_must_be_http_and_a_password_is_masked() -> None:
    with pytest.raises(UsageError, match=r"'ftp://host/x' is not an http\(s\) URL"):
        Endpoint("ftp://host/x")
    with pytest.raises(UsageError) as caught:
        Endpoint("ftp://ana:s3cret@host/x")
    assert "s3cret" not in str(caught.value)


def test_an_api_key_is_sent_as_a_bearer_token(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "k3y")
    with endpoint() as received, Endpoint(received.url) as sink:
        sink.post(b"{}")
    assert received.headers[0]["Authorization"] == "Bearer k3y"


def test_the_api_exports_refs_with_their_upstream_within_a_window(project: Path) -> None:
    from lineage import api

    runs = record_chain()
    stream = io.BytesIO()
    result = api.export_openlineage(["train:LogisticRegression"], upstream=True, out=stream)
    names = [json.loads(line)["job"]["name"] for line in stream.getvalue().splitlines()]
    assert (
        names
        == ["load.transactions"] * 2 + ["process.plain"] * 2 + ["train.LogisticRegression"] * 2
    )
    assert (result.runs, result.events) == (3, 6)
    later = io.BytesIO()
    since = lineage_time(runs["process"].started_at)
    api.export_openlineage(["train:LogisticRegression"], upstream=True, since=since, out=later)
    assert len(later.getvalue().splitlines()) == 4  # load started before the window
    with pytest.raises(UsageError, match=r"needs the refs of the runs to start from"):
        api.export_openlineage(upstream=True, out=io.BytesIO())
