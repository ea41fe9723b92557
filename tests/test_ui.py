"""`lineage ui` as a real server over a real project: every page, its JSON twin, bad input,
the token, downloads, and that nothing is written."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import xxhash

from lineage.ui import server as ui_server
from tests import pipelines
from tests.helpers import run_cli
from tests.ui_server import UIServer

pytestmark = pytest.mark.slow  # one project with six launched steps, shared by the module

CHAIN = ["--table", "transactions", "--logic", "plain", "--algorithm", "lr"]

# Recorded with the SDK, outside the launcher: a second retrieval of the same data, and a
# training run that logs its loss at every step (a curve).
RECORD = """
import pyarrow as pa
import lineage

with lineage.start_run("load", table="transactions") as run:
    run.log_table("data", pa.table({"x": [1, 2, 3]}))
with lineage.start_run("train", algorithm="curve", upstream=["process:plain"]) as run:
    run.input_table("features")
    run.log_param("C", "2.0")
    for step in range(10):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.log_metric("score", 0.25)
"""


@dataclass
class Site:
    root: Path
    server: UIServer
    first: dict[str, str]  # step -> run id of the first resolve
    second: dict[str, str]  # after new data


def _chain(root: Path, *extra: str) -> dict[str, str]:
    done = run_cli("resolve", *CHAIN, *extra, "--json", cwd=root, check=True)
    return {link["step"]: link["run_id"] for link in json.loads(done.stdout)["chain"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ui") / "project"
    pipelines.make_pipeline(root)
    first = _chain(root)
    (root / "record.py").write_text(textwrap.dedent(RECORD))
    subprocess.run([sys.executable, "record.py"], cwd=root, check=True, timeout=120)
    (root / "data" / "transactions.txt").write_text("1 2 3 4\n")
    second = _chain(root, "--rerun", "load")
    server = UIServer(root)
    try:
        yield Site(root, server, first, second)
    finally:
        server.stop()


def runs_json(root: Path, *args: str) -> list[dict]:
    return json.loads(run_cli("runs", "--limit", "0", *args, "--json", cwd=root, check=True).stdout)


def test_ui_prints_its_address_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    root = pipelines.make_pipeline(tmp_path / "p")
    server = UIServer(root)
    assert server.first_line.startswith("serving http://127.0.0.1:")
    assert server.get("/runs").status == 200
    err = server.stop()
    assert "Traceback" not in err
    assert server.process.returncode in (0, 130)


def test_runs_page_lists_what_lineage_runs_lists(site: Site) -> None:
    page = site.server.get("/runs")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    expected = runs_json(site.root, "--limit", "50")
    for run in expected:
        assert run["run_id"][:8] in page.text
    twin = site.server.get("/runs.json").json()
    assert [r["run_id"] for r in twin["runs"]] == [r["run_id"] for r in expected]
    by_accept = site.server.get("/runs", {"Accept": "application/json"}).json()
    assert by_accept == twin


def test_runs_filters_are_those_of_lineage_runs(site: Site) -> None:
    for query, args in (
        ("step=train", ["--step", "train"]),
        ("logic=plain&step=train", ["--logic", "plain", "--step", "train"]),
        ("param=C%3D2.0", ["--param", "C=2.0"]),
        ("metric=score%3E0", ["--metric", "score>0"]),
        ("status=finished&on=today", ["--status", "finished", "--on", "today"]),
    ):
        got = site.server.get(f"/runs.json?{query}").json()["runs"]
        assert [r["run_id"] for r in got] == [r["run_id"] for r in runs_json(site.root, *args)]


def test_runs_pages_follow_one_another_without_gap_or_repeat(site: Site) -> None:
    everything = [r["run_id"] for r in runs_json(site.root)]
    seen: list[str] = []
    query = "limit=3"
    while True:
        page = site.server.get(f"/runs.json?{query}").json()
        seen += [r["run_id"] for r in page["runs"]]
        if not page["next_before"]:
            break
        query = urllib.parse.urlencode({"limit": 3, "before": page["next_before"]})
    assert seen == everything and len(everything) > 6
    html = site.server.get("/runs?limit=3").text
    assert 'rel="next"' in html and "before=" in html


def test_run_page_shows_identity_code_params_artifacts_and_neighbours(site: Site) -> None:
    process = site.first["process"]
    page = site.server.get(f"/runs/{process[:8]}")
    assert page.status == 200
    text = page.text
    assert process in text and "steps/process.py" in text  # what the code version covers
    data = site.server.get(f"/runs/{process}.json").json()
    show = json.loads(run_cli("show", process, "--json", cwd=site.root, check=True).stdout)
    for name in ("run_id", "inputs", "outputs", "upstream", "downstream", "params", "metrics"):
        assert data[name] == show[name]
    features = next(o for o in data["outputs"] if o["name"] == "features")
    assert data["previews"][features["hash"]]["columns"] == ["x"]
    assert data["previews"][features["hash"]]["rows"] == [[1], [2], [3]]
    assert features["hash"] in text or features["hash"].split(":")[1][:12] in text
    assert data["code"]["covers"] == ["steps/process.py"]
    assert data["code"]["current"] == data["code"]["hash"]


def test_run_page_says_whether_resolve_would_reuse_it(site: Site) -> None:
    newest = site.server.get(f"/runs/{site.second['train']}.json").json()["verdict"]
    assert newest["reuse"] is True
    # The first chain's process was made from data that changed since: a newer one is reused.
    older = site.server.get(f"/runs/{site.first['process']}.json").json()["verdict"]
    assert older["reuse"] is False and older["instead"] == site.second["process"]
    # A run recorded by hand has no code version: resolve would launch the step.
    by_hand = site.server.get("/runs/train:curve.json").json()["verdict"]
    assert by_hand["reuse"] is False and "would launch the step" in by_hand["reason"]
    assert "Not reused by resolve today" in site.server.get("/runs/train:curve").text
    older_load = site.server.get(f"/runs/{site.first['load']}.json").json()["verdict"]
    assert older_load["reuse"] is False and older_load["instead"] == site.second["load"]


def test_a_metric_logged_at_many_steps_is_drawn_as_a_curve(site: Site) -> None:
    data = site.server.get("/runs/train:curve.json").json()
    assert [p[0] for p in data["metric_history"]["loss"]] == list(range(10))
    assert "score" not in data["metric_history"]  # one value: no curve
    html = site.server.get("/runs/train:curve").text
    assert 'class="chart curve"' in html and "<polyline" in html


def test_data_versions_group_identical_retrievals(site: Site) -> None:
    data = site.server.get("/versions/load/transactions.json").json()
    assert [v["number"] for v in data["versions"]] == [2, 1]
    newest, oldest = data["versions"]
    assert len(oldest["retrievals"]) == 2  # the first load and the SDK's identical one
    assert len(newest["retrievals"]) == 1 and newest["retrievals"] == [site.second["load"]]
    assert oldest["outputs"][0]["rows"] == 3 and newest["outputs"][0]["rows"] == 4
    made = {r["run_id"] for r in oldest["made_from"]}
    assert {site.first["process"], site.first["train"]} <= made
    assert site.second["train"] not in made
    assert [t["version"] for t in data["timeline"]] == [2, 1, 1]
    assert data["timeline"][1]["same_as_before"] is True
    assert "version 2" in site.server.get("/versions/load/transactions").text


def test_graph_stops_at_the_depth_asked_and_links_its_nodes(site: Site) -> None:
    train = site.second["train"]
    runs_at = {}
    for depth in (1, 2):
        data = site.server.get(f"/graph/{train}.json?depth={depth}").json()
        runs_at[depth] = {n["id"][2:] for n in data["nodes"] if n["kind"] == "run"}
    assert runs_at[1] == {train, site.second["process"]}
    assert runs_at[2] == {train, site.second["process"], site.second["load"]}
    html = site.server.get(f"/graph/{train}?depth=2").text
    assert "<svg" in html and f'href="/runs/{site.second["load"]}"' in html
    # An artifact is a starting point too: its producers and its consumers. The test
    # pipeline's plain logic copies its rows, so the load produced the same table (same hash).
    features = site.server.get(f"/runs/{site.second['process']}.json").json()["outputs"]
    digest = next(o["hash"] for o in features if o["name"] == "features")
    around = site.server.get(f"/graph/{digest}.json?depth=1").json()
    assert {n["id"][2:] for n in around["nodes"] if n["kind"] == "run"} == {
        site.second["load"],
        site.second["process"],
        train,
    }
    assert any(n["focus"] and n["kind"] == "artifact" for n in around["nodes"])


def test_audit_and_impact_are_the_cli_s(site: Site) -> None:
    train = site.second["train"]
    audit = site.server.get(f"/audit/{train}.json").json()
    cli = json.loads(run_cli("audit", train, "--json", cwd=site.root, check=True).stdout)
    assert audit == cli
    assert site.second["load"] in site.server.get(f"/audit/{train}").text
    impact = site.server.get(f"/impact/{site.first['load']}.json").json()
    cli = json.loads(run_cli("impact", site.first["load"], "--json", cwd=site.root).stdout)
    assert impact == cli


def test_compare_marks_changed_rows_and_draws_parallel_coordinates(site: Site) -> None:
    a, b = site.first["train"], site.second["train"]
    data = site.server.get(f"/compare.json?run={a}&run={b}").json()
    rows = {(r["section"], r["name"]): r for r in data["rows"]}
    assert rows["run", "step"]["changed"] is False
    assert rows["inputs", "features"]["changed"] is True  # made from different data
    assert data["metric"] == "score"
    html = site.server.get(f"/compare?run={a}&run={b}&run=train:curve").text
    assert 'class="changed"' in html and 'class="chart parallel"' in html
    assert html.count('class="run-line"') == 3


def test_plan_is_a_dry_run_with_reasons(site: Site) -> None:
    before = runs_json(site.root)
    plan = site.server.get("/plan.json?table=transactions&logic=double&algorithm=lr").json()
    assert [(x["step"], x["action"]) for x in plan["chain"]] == [
        ("load", "reuse"),
        ("process", "launch"),
        ("train", "launch"),
    ]
    assert plan["chain"][1]["reason"] == "no run yet"
    assert plan["chain"][0]["reason"]  # a reused step says why too
    whole = site.server.get("/plan.json?table=transactions&logic=plain&algorithm=lr").json()
    assert whole["complete"] is True
    assert runs_json(site.root) == before  # nothing launched


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/runs/ffffffff", 404, "no run matches 'ffffffff'"),
        ("/runs/not a ref!", 400, "cannot read"),
        ("/runs?status=lost", 400, "unknown status 'lost'"),
        ("/runs?metric=auc", 400, "is not a comparison"),
        ("/runs?on=yesterweek", 400, "yesterweek"),
        ("/runs?flavour=x", 400, "unknown key 'flavour'"),
        ("/runs?limit=-3", 400, "limit must be a whole number"),
        ("/runs?before=garbage", 400, "not a page cursor"),
        ("/graph/ffffffff?depth=99", 400, "depth must be"),
        ("/compare?run=ffffffff", 400, "two or more runs"),
        ("/plan?table=transactions&algorithm=lr", 400, "give --logic VALUE"),
        ("/versions/load/nothing", 404, "no load:nothing run"),
        ("/artifacts/xxh128:nothex", 400, "not an artifact hash"),
        ("/artifacts/xxh128:" + "0" * 32, 404, "no artifact"),
        ("/no/such/page", 404, "no page"),
    ],
)
def test_bad_input_is_a_one_line_4xx_page(site: Site, path: str, status: int, words: str) -> None:
    url = urllib.parse.quote(path, safe="/?=&:")
    page = site.server.get(url)
    assert page.status == status, page.text
    assert words in page.text.replace("&#39;", "'")
    assert "Traceback" not in page.text
    twin = site.server.get(url, {"Accept": "application/json"})
    assert twin.status == status
    error = twin.json()["error"]
    assert words in error and "\n" not in error


def test_read_only_refuses_every_other_method(site: Site) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        reply = site.server.get("/runs", method=method)
        assert reply.status == 405 and "read-only" in reply.text


def test_artifacts_download_by_hash_only(site: Site) -> None:
    outputs = site.server.get(f"/runs/{site.second['train']}.json").json()["outputs"]
    model = next(o for o in outputs if o["name"] == "model.txt")
    reply = site.server.get(f"/artifacts/{model['hash']}?name=model.txt")
    assert reply.status == 200
    assert "xxh128:" + xxhash.xxh3_128_hexdigest(reply.body) == model["hash"]
    assert 'filename="model.txt"' in reply.headers["content-disposition"]
    for bad in ("/artifacts/..%2F..%2Fetc%2Fpasswd", "/artifacts/" + model["hash"][:20]):
        assert site.server.get(bad).status in (400, 404)


def test_pages_carry_a_strict_content_policy_and_refuse_a_foreign_host(site: Site) -> None:
    reply = site.server.get("/runs")
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert "<script>" not in reply.text  # no inline script for the policy to forbid
    foreign = site.server.get("/runs", {"Host": "attacker.example:8250"})
    assert foreign.status == 400 and "unknown Host" in foreign.text


def test_a_token_is_checked_on_every_request(tmp_path: Path) -> None:
    root = pipelines.make_pipeline(tmp_path / "p")
    server = UIServer(root, {"LINEAGE_UI_TOKEN": "s3cr3t-token"})
    try:
        assert server.get("/runs").status == 401
        assert server.get("/static/style.css").status == 401
        assert server.get("/runs?token=wrong").status == 401
        assert server.get("/runs", {"Authorization": "Bearer s3cr3t-token"}).status == 200
        entry = server.get("/runs?step=train&token=s3cr3t-token")
        assert entry.status == 303 and entry.headers["location"] == "/runs?step=train"
        cookie = entry.headers["set-cookie"].split(";")[0]
        assert "httponly" in entry.headers["set-cookie"].lower()
        page = server.get("/runs", {"Cookie": cookie})
        assert page.status == 200 and "s3cr3t-token" not in page.text
    finally:
        server.stop()


def test_off_loopback_without_a_token_is_refused_before_listening(tmp_path: Path) -> None:
    root = pipelines.make_pipeline(tmp_path / "p")
    done = run_cli("ui", "--host", "0.0.0.0", cwd=root)
    assert done.returncode == 2
    assert "--token" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    from lineage.errors import UsageError

    with pytest.raises(UsageError, match="needs a token"):
        ui_server.serve("0.0.0.0", 0)
    assert ui_server.is_loopback("127.0.0.5") and not ui_server.is_loopback("10.1.2.3")


def test_outside_a_project_or_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    import socket

    done = run_cli("ui", "--port", "0", cwd=tmp_path)
    assert done.returncode == 2 and "no lineage project here" in done.stderr
    root = pipelines.make_pipeline(tmp_path / "p")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = run_cli("ui", "--port", str(port), cwd=root)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use: choose another port"
    )
