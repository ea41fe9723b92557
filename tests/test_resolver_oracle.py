"""The resolver's choice against a brute-force oracle on random catalogs.

The oracle reads the rules of DESIGN.md straight off the generated records, in plain Python:
enumerate every run, keep those the rules allow, take the newest. The resolver must pick the
same chain (or the same first missing step), in its normal walk and with ``--no-launch``.
"""

from __future__ import annotations

import tempfile
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage import api, resolver
from lineage import run as run_module
from lineage.errors import NoChain
from lineage.pipeline import load_pipeline, params_hash
from lineage.run import open_session

TOML = """
[steps.load]
key = "table"
command = "true"

[steps.process]
key = "logic"
after = ["load"]
command = "true"
code = ["process.py"]

[steps.train]
key = "algorithm"
after = ["process"]
command = "true"
params = { C = { type = "float", default = 1.0 } }
"""
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
HASHES = [f"xxh128:{i:032x}" for i in range(1, 5)]
STALE_CODE = "xxh128:" + "e" * 32
OTHER_PARAMS = params_hash({"C": 2.0})


@dataclass
class Fake:
    """A generated run, as the oracle sees it."""

    id: str
    step: str
    value: str
    time: datetime
    status: str
    outputs: set[str] = field(default_factory=set)
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (hash, source run id)
    upstream: set[str] = field(default_factory=set)
    code: str | None = None
    params: str | None = None


statuses = st.sampled_from(["finished", "finished", "finished", "failed", "running"])


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict]:
    """Draw a random catalog: load runs, then process and train runs made from earlier ones."""
    specs: list[dict] = []
    seconds = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=14, unique=True))
    loads = []
    for i, second in enumerate(seconds):
        kind = "load" if i < 3 or not loads else draw(st.sampled_from(["load", "process", "train"]))
        spec: dict = {"kind": kind, "second": second, "status": draw(statuses)}
        if kind == "load":
            spec["value"] = draw(st.sampled_from(["t", "t", "u"]))
            spec["outputs"] = {draw(st.sampled_from(HASHES[:3]))}
            loads.append(i)
        else:
            spec["value"] = draw(
                st.sampled_from(
                    ["plain", "plain", "scaled"] if kind == "process" else ["lr", "lr", "rf"]
                )
            )
            sources = [
                j
                for j, s in enumerate(specs)
                if s["kind"] == ("load" if kind == "process" else "process")
            ]
            if not sources:
                continue
            spec["source"] = draw(st.sampled_from(sources))
            spec["mode"] = draw(
                st.sampled_from(["consume", "consume", "other-hash", "upstream-only"])
            )
            spec["outputs"] = {draw(st.sampled_from(HASHES))}
            spec["stale"] = draw(st.booleans()) if kind == "process" else False
            spec["other_params"] = draw(st.booleans()) if kind == "train" else False
        specs.append(spec)
    return specs


def build(root: Path, specs: list[dict]) -> tuple[list[Fake], str, str]:
    """Record the drawn catalog through the Catalog API; return what the oracle needs."""
    (root / "lineage.toml").write_text(textwrap.dedent(TOML).lstrip())
    (root / "process.py").write_text("print('current code')\n")
    api.init(root)
    session = open_session(start=root, required=True)
    pipeline = load_pipeline(root)
    assert pipeline is not None
    code = pipeline.code_hash("process")
    default_params = params_hash({"C": 1.0})
    catalog = session.catalog
    fakes: list[Fake] = []
    keys = {"load": "table", "process": "logic", "train": "algorithm"}
    for spec in specs:
        step = spec["kind"]
        moment = EPOCH + timedelta(seconds=spec["second"])
        run_code = (STALE_CODE if spec.get("stale") else code) if step == "process" else None
        run_params = (
            (OTHER_PARAMS if spec.get("other_params") else default_params)
            if step == "train"
            else None
        )
        info = catalog.start_run(
            step, keys[step], spec["value"], time=moment, params_hash=run_params, code_hash=run_code
        )
        fake = Fake(
            info.id,
            step,
            spec["value"],
            info.time,
            spec["status"],
            code=run_code,
            params=run_params,
        )
        for h in spec["outputs"]:
            catalog.add_output(info.id, f"out-{h[-2:]}", {"hash": h, "size": 1, "kind": "file"})
            fake.outputs.add(h)
        if "source" in spec:
            source = fakes[spec["source"]]
            if spec["mode"] == "upstream-only":
                catalog.add_upstream(info.id, [source.id])
            else:
                consumed = sorted(source.outputs)[0] if spec["mode"] == "consume" else HASHES[3]
                catalog.add_input(
                    info.id,
                    "in",
                    {"hash": consumed, "size": 1, "kind": "file"},
                    source_run_id=source.id,
                )
                fake.inputs.append((consumed, source.id))
            fake.upstream.add(source.id)
        catalog.end_run(info.id, spec["status"])
        fakes.append(fake)
    return fakes, code or "", default_params


def newest(runs: list[Fake]) -> Fake | None:
    return max(runs, key=lambda r: (r.time, r.id), default=None)


def coherent(candidate: Fake, chosen: Fake, by_id: dict[str, Fake]) -> bool:
    node = (chosen.step, chosen.value)
    if any((by_id[u].step, by_id[u].value) != node for u in candidate.upstream):
        return False
    consumed = [
        h for h, source in candidate.inputs if (by_id[source].step, by_id[source].value) == node
    ]
    if consumed:
        return all(h in chosen.outputs for h in consumed)
    return chosen.id in candidate.upstream


def oracle_walk(
    fakes: list[Fake], anchor: Fake | None, code: str, default_params: str
) -> list[Fake | None]:
    by_id = {f.id: f for f in fakes}
    chain: list[Fake | None] = [anchor]
    rules = [
        ("process", "plain", lambda f: f.code == code),
        ("train", "lr", lambda f: f.params == default_params),
    ]
    for step, value, matches in rules:
        upstream = chain[-1]
        if upstream is None:
            chain.append(None)
            continue
        allowed = [
            f
            for f in fakes
            if f.step == step
            and f.value == value
            and f.status == "finished"
            and matches(f)
            and coherent(f, upstream, by_id)
        ]
        chain.append(newest(allowed))
    return chain


KEYS = {"table": "t", "logic": "plain", "algorithm": "lr"}


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogs())
def test_resolver_matches_the_oracle(specs: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fakes, code, default_params = build(root, specs)
        session = open_session(start=root, required=True)
        try:
            loads = sorted(
                (
                    f
                    for f in fakes
                    if f.step == "load" and f.value == "t" and f.status == "finished"
                ),
                key=lambda r: (r.time, r.id),
                reverse=True,
            )
            expected = oracle_walk(fakes, loads[0] if loads else None, code, default_params)
            plan = resolver.resolve(session, KEYS, dry_run=True)
            got = [link.run.id if link.run else None for link in plan.links]
            want: list[str | None] = []
            for fake in expected:
                want.append(
                    fake.id if fake is not None and (not want or want[-1] is not None) else None
                )
            assert got == want
            assert [link.action for link in plan.links] == [
                "reuse" if w else "launch" for w in want
            ]

            # --no-launch: the newest anchor whose chain exists whole.
            whole = next(
                (c for c in (oracle_walk(fakes, a, code, default_params) for a in loads) if all(c)),
                None,
            )
            try:
                chain = resolver.resolve(session, KEYS, no_launch=True)
            except NoChain:
                assert whole is None
            else:
                assert whole is not None
                assert [link.run.id for link in chain.links if link.run] == [
                    f.id for f in whole if f
                ]
        finally:
            session.catalog.close()
            run_module._sessions.clear()
