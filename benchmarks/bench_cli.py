"""CLI start: ``lineage runs --limit 1`` against the interpreter's own start, and what it imports.

    .venv/bin/python benchmarks/bench_cli.py                 # 11 calls per side
    .venv/bin/python benchmarks/bench_cli.py --repeat 3      # a smoke run

Sides, each the median wall time of ``--repeat`` fresh processes, interleaved:

* ``python -c pass``: the interpreter alone (the floor);
* ``python -c "import click, sqlalchemy"``: what a catalog query cannot avoid loading;
* ``lineage --version``: the command line without any command;
* ``lineage runs --limit 1``: one real query, in a project with a few runs.

Then ``python -X importtime`` of ``lineage runs --limit 1`` lists the heaviest packages it
imports and checks the lazy ones (pyarrow, fsspec, pandas, s3fs, ...) stay unloaded; SQLAlchemy
must not load for ``lineage --version`` either.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import header, median, ratio_line, timed

# Packages the catalog query must not pay for: only artifact and table commands need them.
LAZY = ("pyarrow", "fsspec", "pandas", "numpy", "s3fs", "psycopg")
# Packages that `lineage --version` / `--help` must not load.
QUERY_ONLY = ("sqlalchemy", "sqlmodel", "pydantic")


def imported(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, int]:
    """Return the top-level packages ``lineage ARGV`` imports, with the us spent in each.

    Each module's own ("self") time counts toward its top-level package, so nested imports
    are not counted twice.
    """
    code = "import sys; from lineage.cli import main; sys.argv = ['lineage', *sys.argv[1:]]; main()"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    packages: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = line[len("import time:") :].split("|")
        if not own.strip().isdigit():  # the header line
            continue
        top = name.strip().split(".")[0]
        packages[top] = packages.get(top, 0) + int(own)
    return packages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="processes per side (default 11)")
    args = parser.parse_args()

    from lineage import api

    lineage_bin = str(Path(sys.executable).with_name("lineage"))
    header(f"CLI start: median of {args.repeat} processes per side")
    work = Path(tempfile.mkdtemp(prefix="lineage-bench-cli-"))
    cwd = os.getcwd()
    # Measure what a user's install does: with bytecode caches. PYTHONDONTWRITEBYTECODE (set on
    # some CI machines) would make every start compile SQLAlchemy from source, 1 s or more.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LINEAGE_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    try:
        project = work / "project"
        api.init(project)
        import lineage

        os.chdir(project)
        try:
            for i in range(3):  # a few runs to list
                with lineage.start_run("train", algorithm=f"algo{i}") as run:
                    run.log_metric("auc", 0.9)
        finally:
            os.chdir(cwd)

        sides = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import click, sqlalchemy'": [
                sys.executable,
                "-c",
                "import click, sqlalchemy",
            ],
            "lineage --version": [lineage_bin, "--version"],
            "lineage runs --limit 1": [lineage_bin, "runs", "--limit", "1"],
        }
        samples: dict[str, list[float]] = {name: [] for name in sides}
        for argv in sides.values():  # untimed: writes the bytecode caches a first start writes
            subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True)
        for _ in range(args.repeat):
            for name, argv in sides.items():

                def call(argv: list[str] = argv) -> None:
                    subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True)

                samples[name].append(timed(call))

        floor = median(samples["python -c pass"])
        print(f"{'side':<38} {'median ms':>10} {'minus python -c pass':>21}")
        for name, times in samples.items():
            print(f"{name:<38} {median(times) * 1e3:>10.0f} {(median(times) - floor) * 1e3:>21.0f}")
        runs = median(samples["lineage runs --limit 1"])
        needed = median(samples["python -c 'import click, sqlalchemy'"])
        print(f"start  lineage runs --limit 1 minus python -c pass: {(runs - floor) * 1e3:.0f} ms")
        ratio_line(
            "(lineage runs --limit 1 - python) / (import click, sqlalchemy - python)",
            (runs - floor) / max(needed - floor, 1e-9),
        )

        packages = imported(["runs", "--limit", "1"], project, env)
        heaviest = sorted(packages.items(), key=lambda item: -item[1])[:8]
        print("imports  heaviest packages of `lineage runs --limit 1` (ms in their modules):")
        print("         " + ", ".join(f"{name} {us / 1e3:.0f}" for name, us in heaviest))
        lazy_ok = True
        for name in LAZY:
            loaded = name in packages
            lazy_ok &= not loaded
            state = f"LOADED ({packages[name] / 1e3:.0f} ms)" if loaded else "not loaded"
            print(f"lazy     lineage runs: {name} {state}")
        bare = imported(["--version"], project, env)
        for name in QUERY_ONLY:
            loaded = name in bare
            lazy_ok &= not loaded
            print(f"lazy     lineage --version: {name} {'LOADED' if loaded else 'not loaded'}")
        print(f"lazy     {'all lazy packages stay unloaded' if lazy_ok else 'SOME LOADED'}")
        model = sum(packages.get(name, 0) for name in ("sqlmodel", "pydantic", "pydantic_core"))
        total = sum(packages.values())
        print(
            f"imports  the model layer (sqlmodel, pydantic) is {model / 1e3:.0f} ms "
            f"of {total / 1e3:.0f} ms of imports"
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
