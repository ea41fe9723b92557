"""Store throughput: one pass (hash while copying) against cp + xxh128sum, and hashing alone.

    .venv/bin/python benchmarks/bench_store.py               # a 1 GiB file, 5 rounds
    .venv/bin/python benchmarks/bench_store.py --size-mib 8 --rounds 1   # a smoke run

Sides, each timed on a file whose pages are already cached (read once just before; every side
gets the same warm-up) and after ``sync`` (so no side pays for the previous side's writeback):

* ``cp SRC DST && xxh128sum DST``: copying, then hashing: two passes (the reference);
* ``Store.put_file(SRC)``: lineage's one pass into a local store;
* ``ActiveRun.log_artifact(SRC)``: the same through the SDK, with its catalog records;
* ``cat SRC > /dev/null``: the fastest read of the file (the reference for hashing alone);
* ``lineage.hashing.hash_file(SRC)``: hashing alone.

The source, the store and cp's copy share one temporary folder on one disk (``--dir``).
Peak resident memory of the lineage side is read from the kernel (``VmHWM``, reset before
each call): it stays at the size of the reused read buffer whatever the file size.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import (
    best,
    header,
    median,
    peak_rss_mib,
    ratio_line,
    reset_peak_rss,
    rss_mib,
    timed,
)

MIB = 1 << 20


def make_file(path: Path, size_mib: int) -> None:
    """Write ``size_mib`` MiB of incompressible bytes, 1 MiB at a time (constant memory)."""
    with open(path, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MIB))


def xxh128sum(path: Path) -> str:
    """Return the hash of a file as the reference tool computes it, in lineage's notation."""
    done = subprocess.run(["xxh128sum", str(path)], check=True, capture_output=True, text=True)
    return "xxh128:" + done.stdout.split()[0]


def warm(path: Path) -> None:
    """Settle the disk and put the whole source in the page cache, the same for every side."""
    os.sync()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per side (default 5)")
    parser.add_argument("--dir", help="where the file and the store go (default: system temp)")
    args = parser.parse_args()

    if shutil.which("xxh128sum") is None:
        print("Error: xxh128sum not found: install it (Debian/Ubuntu: apt-get install xxhash)")
        return 1

    import lineage
    from lineage import api, hashing
    from lineage.store import Store

    header(f"store throughput, {args.size_mib} MiB file, {args.rounds} rounds per side")
    work = Path(tempfile.mkdtemp(prefix="lineage-bench-store-", dir=args.dir))
    cwd = os.getcwd()
    try:
        source = work / "source.bin"
        copy = work / "copy.bin"
        make_file(source, args.size_mib)
        api.init(work / "project")
        os.chdir(work / "project")
        store = Store(str(work / "project" / ".lineage" / "objects"))
        # The reference tool's hash of the source: every side must agree with it.
        expected = xxh128sum(source)

        def cp_xxh() -> None:
            done = subprocess.run(
                f"cp '{source}' '{copy}' && xxh128sum '{copy}'",
                shell=True,
                check=True,
                capture_output=True,
                text=True,
            )
            assert "xxh128:" + done.stdout.split()[0] == expected

        def put_file() -> None:
            stored = store.put_file(source)
            assert stored.hash == expected, (stored.hash, expected)

        def log_artifact() -> None:
            with lineage.start_run("bench", file="source.bin") as run:
                got = run.log_artifact(source)
            assert got == expected, (got, expected)

        def cat() -> None:
            subprocess.run(f"cat '{source}' > /dev/null", shell=True, check=True)

        def hash_file() -> None:
            got, _ = hashing.hash_file(str(source))
            assert got == expected, (got, expected)

        def clean() -> None:
            if copy.exists():
                copy.unlink()
            if store.exists(expected):
                store.remove(expected)

        sides = {
            "cp + xxh128sum": cp_xxh,
            "Store.put_file": put_file,
            "ActiveRun.log_artifact": log_artifact,
            "cat > /dev/null": cat,
            "hashing.hash_file": hash_file,
        }
        samples: dict[str, list[float]] = {name: [] for name in sides}
        peaks: dict[str, float] = {}
        tracked = ("Store.put_file", "ActiveRun.log_artifact", "hashing.hash_file")
        baseline = rss_mib()
        can_reset = reset_peak_rss()
        names = list(sides)
        order = random.Random(7)
        for _ in range(args.rounds):
            # A new order every round: a side that always followed the same neighbour (say, the
            # deletion of cp's 1 GiB copy) would carry that neighbour's after-effects each time.
            order.shuffle(names)
            for name in names:
                side = sides[name]
                clean()
                warm(source)
                if name in tracked:
                    reset_peak_rss()
                    before = rss_mib()
                samples[name].append(timed(side))
                if name in tracked and can_reset:
                    peaks[name] = max(peaks.get(name, 0.0), peak_rss_mib() - before)
        clean()

        size = args.size_mib
        print(f"{'side':<24} {'best s':>8} {'median s':>9} {'MiB/s (best)':>13}")
        for name, times in samples.items():
            print(
                f"{name:<24} {best(times):>8.3f} {median(times):>9.3f} {size / best(times):>13.0f}"
            )

        reference = samples["cp + xxh128sum"]
        met = True
        for name in ("Store.put_file", "ActiveRun.log_artifact"):
            times = samples[name]
            met &= ratio_line(
                f"{name} time / (cp + xxh128sum) time",
                best(times) / best(reference),
                "<=",
                1.0,
                f"median {median(times) / median(reference):.2f}x",
            )
        cat_times, hash_times = samples["cat > /dev/null"], samples["hashing.hash_file"]
        met &= ratio_line(
            "hash_file throughput / cat throughput",
            best(cat_times) / best(hash_times),
            ">=",
            0.9,
            f"median {median(cat_times) / median(hash_times):.2f}x",
        )
        if can_reset:
            for name in tracked:
                print(
                    f"memory peak RSS growth during {name}: {peaks[name]:.1f} MiB "
                    f"(file {size} MiB, process baseline {baseline:.0f} MiB)"
                )
        else:
            print(
                f"memory peak RSS of the process: {peak_rss_mib():.0f} MiB "
                f"(file {size} MiB; per-call reset unavailable)"
            )
        return 0
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
