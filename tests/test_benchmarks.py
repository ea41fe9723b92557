"""Every benchmark runs end to end at a tiny size and prints its ratio lines, so none rots."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import REPO

SMOKE = {
    "bench_store.py": (["--size-mib", "2", "--rounds", "1"], 3),
    "bench_logging.py": (["--runs", "20", "--rounds", "1"], 2),
    "bench_search.py": (["--sizes", "300,900", "--queries", "5", "--rounds", "1"], 5),
    "bench_cli.py": (["--repeat", "1"], 1),
    "bench_ui.py": (["--sizes", "300,900", "--requests", "2", "--rounds", "1"], 6),
    "bench_openlineage.py": (["--sizes", "300,900"], 2),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_runs_and_prints_its_ratios(script: str) -> None:
    args, ratios = SMOKE[script]
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("ratio  ")]
    assert len(lines) == ratios, done.stdout
    for line in lines:
        # "ratio  <what>: 0.84x (target <= 1.0x: met)": a number, then a verdict or "no target".
        figure = line.split(": ", 1)[1].split("x (", 1)[0]
        assert float(figure) > 0, line
        assert "(target" in line or "(no target" in line, line
