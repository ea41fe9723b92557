"""Turn library values into text: aligned tables, sizes, short hashes, one view per result.

Every renderer prints through ``click.echo`` (one output path, so pipes and the test runner
see lines in order); ``--json`` output goes through ``echo_json`` alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from lineage.api import InitResult
    from lineage.catalog import ArtifactInfo, RunInfo
    from lineage.configuration import Info
    from lineage.details import MetricHistory, RunDetails
    from lineage.gc import GcReport
    from lineage.resolver import Chain, Link
    from lineage.verify import VerifyReport
    from lineage.walks import Verification


# -- primitives -------------------------------------------------------------------------------


def echo_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(document, indent=2, sort_keys=False, default=str))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as an aligned table with a header line."""
    text_rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    click.echo(click.style(line, bold=True) if sys.stdout.isatty() else line)
    for row in text_rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def human_size(size: int | None) -> str:
    """Return a byte count as people read it: ``737 B``, ``34.7 KiB``."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def sized(size: int) -> str:
    """Return ``512 B``, or ``1536 bytes, 1.5 KiB`` where the unit rounds (not ``0 bytes, 0 B``)."""
    return human_size(size) if size < 1024 else f"{size} bytes, {human_size(size)}"


def plural(count: int, noun: str) -> str:
    """Return ``1 object``, ``2 objects``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def clipped(text: str, width: int = 40) -> str:
    """Cut a cell to ``width`` characters, marking the cut: one long value must not widen a
    whole table (``--json`` keeps it whole)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def short_hash(hash_: str) -> str:
    """Return ``xxh128:`` and the first 12 hex digits of a hash."""
    algorithm, _, hexdigest = hash_.partition(":")
    return f"{algorithm}:{hexdigest[:12]}"


def format_metrics(metrics: dict[str, float], limit: int = 3) -> str:
    """Return the first ``limit`` metrics as ``name=value``, then ``...`` if there are more."""
    items = [f"{k}={v:.4g}" for k, v in list(metrics.items())[:limit]]
    if len(metrics) > limit:
        items.append("...")
    return " ".join(items)


def artifact_line(artifact: ArtifactInfo, verified: dict[str, Verification] | None) -> str:
    """Render ``hash  rows  size  [ok]`` for one artifact."""
    parts = [artifact.hash]
    if artifact.rows is not None:
        parts.append(f"{artifact.rows} row" + ("" if artifact.rows == 1 else "s"))
    parts.append(human_size(artifact.size))
    if verified is not None and artifact.hash in verified:
        check = verified[artifact.hash]
        parts.append(check.status if check.ok else check.status.upper() + f" ({check.detail})")
    return "  ".join(parts)


# -- init, info -------------------------------------------------------------------------------


def init_text(result: InitResult, example: bool, path: str = ".") -> None:
    """Print what ``lineage init`` made, and the next command after an example.

    ``path`` is the folder as typed: the hint says to ``cd`` there first when it is not here.
    """
    import shlex
    from pathlib import Path

    from lineage.urls import shown_url

    click.echo(f"project  {result.root}")
    click.echo(f"catalog  {shown_url(result.catalog_url)}")
    click.echo(f"store    {shown_url(result.store_url)}")
    for written in result.written:
        click.echo(f"wrote    {written.relative_to(result.root)}")
    for kept in result.kept:
        click.echo(f"kept     {kept.relative_to(result.root)} (exists)")
    if example:
        go = "" if result.root == Path.cwd().resolve() else f"cd {shlex.quote(path)} && "
        click.echo(
            f"\nNext: {go}lineage resolve --table transactions --logic plain "
            "--algorithm LogisticRegression"
        )


def init_dict(result: InitResult) -> dict[str, Any]:
    """Return what ``lineage init --json`` prints (both URLs masked)."""
    from lineage.urls import shown_url

    return {
        "root": str(result.root),
        "catalog": shown_url(result.catalog_url),
        "store": shown_url(result.store_url),
        "written": [str(p) for p in result.written],
        "kept": [str(p) for p in result.kept],
    }


def info_text(found: Info) -> None:
    """Print the configuration in effect and whether each end answered."""
    click.echo(f"{'project':<11}{found.root or '(none here: run `lineage init`)'}")
    for label, check in (("catalog", found.catalog), ("store", found.store)):
        if check.reachable:
            extra = ""
            if "runs" in check.details:
                version = check.details["schema_version"]
                revision = "none" if version is None else f"{version:04d}"
                # The revision as `lineage db status` names it: 0003, not 3.
                extra = f", schema revision {revision}, {plural(check.details['runs'], 'run')}"
            state = f"reachable{extra}"
        else:
            state = f"unreachable: {check.error}"
        click.echo(f"{label:<11}{check.url}")
        click.echo(f"{'':<11}{state}")
    for name, version in found.versions.items():
        click.echo(f"{name:<11}{version or 'not installed'}")


# -- runs, show -------------------------------------------------------------------------------


def runs_table(found: list[RunInfo]) -> None:
    """Print runs as a table, newest first as found; nothing found is one line on stderr."""
    from lineage import times

    if not found:
        click.echo("no runs match", err=True)
        return
    echo_table(
        ["RUN", "STEP", "KEY", "VALUE", "TIME", "STATUS", "METRICS"],
        [
            [
                run.short_id,
                run.step,
                run.key,
                clipped(run.value),
                times.format_time(run.time),
                run.status,
                format_metrics(run.metrics),
            ]
            for run in found
        ],
    )


def runs_csv(found: list[RunInfo]) -> None:
    """Print runs as CSV with their params and metrics as JSON."""
    import csv
    import io

    from lineage import times

    # Through click.echo, not sys.stdout: one output path, so CliRunner and pipes see it
    # in order (writes to sys.stdout were left unflushed in the test runner's buffer).
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run_id", "step", "key", "value", "time", "status", "params", "metrics"])
    for run in found:
        writer.writerow(
            [
                run.id,
                run.step,
                run.key,
                run.value,
                times.format_precise(run.time),
                run.status,
                json.dumps(run.to_dict()["params"], sort_keys=True),
                json.dumps(run.metrics, sort_keys=True),
            ]
        )
    click.echo(buffer.getvalue(), nl=False)


def run_text(details: RunDetails) -> None:
    """Print a run: identity, params, metrics, inputs and outputs, neighbours."""
    from lineage import times

    run = details.run
    lines = [
        ("run", run.id),
        ("identity", f"{run.step}  {run.key}={run.value}  {times.format_precise(run.time)}"),
        ("status", run.status + (f" (exit {run.exit_code})" if run.exit_code is not None else "")),
        ("started", times.format_time(run.started_at)),
    ]
    if run.ended_at:
        seconds = (run.ended_at - run.started_at).total_seconds()
        lines.append(("ended", f"{times.format_time(run.ended_at)}  ({seconds:.2f}s)"))
    if run.error:
        lines.append(("error", run.error.splitlines()[-1] if run.error.strip() else run.error))
    if run.command:
        lines.append(("command", run.command))
    if run.code_hash:
        lines.append(("code", run.code_hash))
    if run.git_commit:
        lines.append(("git", run.git_commit[:12] + (" (dirty)" if run.git_dirty else "")))
    lines.append(("by", f"{run.user or '?'}@{run.host or '?'} pid {run.pid or '?'}"))
    if run.params:
        lines.append(("params", " ".join(f"{k}={v}" for k, v in sorted(run.params.items()))))
    if run.metrics:
        lines.append(("metrics", " ".join(f"{k}={v:.6g}" for k, v in sorted(run.metrics.items()))))
    if run.tags:
        lines.append(("tags", " ".join(f"{k}={v}" for k, v in sorted(run.tags.items()))))
    for label, value in lines:
        click.echo(f"{label:<10} {value}")
    for title, artifacts in (("inputs", details.inputs), ("outputs", details.outputs)):
        click.echo(f"\n{title}:")
        if not artifacts:
            click.echo("  (none)")
            continue
        echo_table(
            ["  NAME", "KIND", "HASH", "SIZE", "ROWS"],
            [
                [
                    "  " + a.name,
                    a.kind,
                    a.hash,
                    human_size(a.size),
                    a.rows if a.rows is not None else "",
                ]
                for a in artifacts
            ],
        )
    for title, neighbours in (("upstream", details.upstream), ("downstream", details.downstream)):
        if neighbours:
            click.echo(f"\n{title}:")
            for other in neighbours:
                click.echo(f"  {other.short_id}  {other.label}  {other.status}")


def metric_table(history: MetricHistory) -> None:
    """Print every logged value of one metric: step (empty when none), value, time."""
    from lineage import times

    echo_table(
        ["STEP", "VALUE", "TIME"],
        [
            ["" if step is None else step, f"{value:.6g}", times.format_precise(moment)]
            for step, value, moment in history.points
        ],
    )


# -- resolve ----------------------------------------------------------------------------------


def step_output(label: str, line: str) -> None:
    """Print a line a launched step wrote, on stderr, after its run's label."""
    click.echo(f"{click.style(label, dim=True)} | {line}", err=True)


def resolver_event(action: str, link: Link) -> None:
    """Print what the resolver is doing (waiting for another resolve, launching) on stderr."""
    if action == "waiting":
        click.echo(f"waiting for {link.ref}: another resolve ({link.reason}) launches it", err=True)
    if action == "launching":
        why = f" ({link.reason})" if link.reason else ""
        assert link.run is not None  # a launching link carries the run it launches
        click.echo(f"launching {link.ref} run {link.run.short_id}{why}", err=True)


def chain_table(chain: Chain) -> None:
    """Print a resolved chain: one row per node with what the resolver did and why."""
    from lineage import times

    echo_table(
        ["STEP", "KEY", "VALUE", "TIME", "RUN", "ACTION", "WHY"],
        [
            [
                link.step,
                link.key,
                link.value,
                times.format_time(link.run.time) if link.run else "",
                link.run.short_id if link.run else "",
                link.action,
                link.reason,
            ]
            for link in chain.links
        ],
    )


# -- verify, gc -------------------------------------------------------------------------------


def verify_text(report: VerifyReport) -> None:
    """Print each corrupt or missing object with the runs using it, then a summary line."""
    for problem in report.problems:
        where = f" ({', '.join(problem.paths)} in a folder)" if problem.paths else ""
        click.echo(f"{problem.status:<8} {problem.hash}  {problem.kind}{where}")
        for run in problem.runs:
            click.echo(f"         used by {run.short_id}  {run.label}  {run.status}")
    summary = f"checked {plural(report.checked, 'object')} ({human_size(report.bytes)})"
    if report.ok:
        click.echo(f"{summary}: all intact")
    else:
        counts = {status: 0 for status in ("corrupt", "missing", "malformed")}
        for problem in report.problems:
            counts[problem.status] = counts.get(problem.status, 0) + 1
        if not counts["malformed"]:
            del counts["malformed"]  # a hand-edited catalog is rare: say it only then
        click.echo(f"{summary}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))


def gc_text(report: GcReport, dry_run: bool, grace: str) -> None:
    """Print each object removed (or that would be), then what was freed and kept."""
    verb = "would remove" if dry_run else "removed"
    for obj in report.objects:
        click.echo(f"{verb}  {obj.hash}  {human_size(obj.size)}")
    for path, size in report.temporary:
        click.echo(f"{verb}  {path}  {human_size(size)}")
    count = len(report.objects) + len(report.temporary)
    young = (
        f" ({report.young} unreferenced but younger than {grace}: --grace 0 takes them too)"
        if report.young
        else ""
    )
    click.echo(
        f"{verb} {plural(count, 'object')} ({sized(report.bytes)}); kept {report.kept}{young}"
    )
