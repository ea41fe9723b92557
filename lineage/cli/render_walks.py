"""Render the walks: ``lineage audit`` (up to the data versions) and ``lineage impact`` (down)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from lineage.cli.render import artifact_line, echo_table, human_size, short_hash

if TYPE_CHECKING:
    from lineage.walks import Audit, Impact, Lineage


def audit_text(result: Audit) -> None:
    """Print the data versions first (the answer), then every run on the way with its inputs."""
    from lineage import times
    from lineage.catalog import RunInfo

    lineage = result.lineage
    verified = result.verified
    target = result.target
    if isinstance(target, RunInfo):
        head = f"{target.label} (run {target.short_id}, {target.status})"
    else:
        head = f"artifact {target.hash}"
    click.echo(f"audit of {head}")
    click.echo(f"\ndata versions ({len(result.data_versions)}):")
    if not result.data_versions:
        click.echo("  (none: no run produced it)")
    for version in result.data_versions:
        label = f"{version.run.step}:{version.run.value}@{times.format_time(version.run.time)}"
        if not version.outputs:
            click.echo(f"  {label}  (no outputs recorded)  run {version.run.short_id}")
        for i, artifact in enumerate(version.outputs):
            shown = label if i == 0 else " " * len(label)
            click.echo(
                f"  {shown}  {artifact.name}  {artifact_line(artifact, verified)}"
                + (f"  run {version.run.short_id}" if i == 0 else "")
            )
            if artifact.schema:
                columns = json.loads(artifact.schema)
                listed = ", ".join(f"{c['name']} {c['type']}" for c in columns[:8])
                more = f", ... ({len(columns)} columns)" if len(columns) > 8 else ""
                click.echo(f"  {' ' * len(label)}  columns: {listed}{more}")
    if not isinstance(target, RunInfo) and verified is not None:
        click.echo(f"\nartifact  {artifact_line(target, verified)}")
    runs = result.runs()
    click.echo(f"\nruns on the way ({len(runs)}, from the audited run up to the data):")
    for run in runs:
        click.echo(f"  {run.label}  {run.short_id}  {run.status}")
        if run.code_hash or run.git_commit:
            git = f"  git {run.git_commit[:12]}" if run.git_commit else ""
            dirty = " (dirty)" if run.git_dirty else ""
            click.echo(f"    code    {run.code_hash or '-'}{git}{dirty}")
        if run.params:
            params = " ".join(f"{k}={v}" for k, v in sorted(run.params.items()))
            click.echo(f"    params  {params}")
        for artifact in lineage.inputs.get(run.id, []):
            source = lineage.runs.get(artifact.source_run_id or "")
            origin = f"  from {source.label}" if source else ""
            click.echo(f"    in      {artifact.name}  {artifact_line(artifact, verified)}{origin}")
        for artifact in lineage.outputs.get(run.id, []):
            click.echo(f"    out     {artifact.name}  {artifact_line(artifact, verified)}")
    if verified is not None and not result.broken:
        click.echo(f"\nverified: all {len(verified)} objects on the way are intact")


def impact_text(result: Impact) -> None:
    """Print how many runs and artifacts derive from the target, the leaves, then both tables."""
    from lineage import times
    from lineage.catalog import RunInfo

    target = result.target
    head = f"{target.label} (run {target.short_id})" if isinstance(target, RunInfo) else target.hash
    runs = result.runs()
    artifacts = result.artifacts()
    click.echo(f"impact of {head}: {len(runs)} runs and {len(artifacts)} artifacts derived")
    if not runs:
        return
    lineage = result.lineage
    click.echo("\nlast in line (nothing was made from them):")
    for run in result.leaves():
        click.echo(f"  {run.label}  {run.short_id}  {run.status}")
    click.echo("\nruns:")
    echo_table(
        ["  RUN", "STEP", "VALUE", "TIME", "STATUS", "MADE FROM"],
        [
            [
                "  " + run.short_id,
                run.step,
                run.value,
                times.format_time(run.time),
                run.status,
                " ".join(_made_from(link, lineage) for link in result.made_from(run.id)),
            ]
            for run in runs
        ],
    )
    click.echo("\nartifacts:")
    echo_table(
        ["  HASH", "NAME", "KIND", "ROWS", "SIZE", "PRODUCED BY"],
        [
            [
                "  " + a["hash"],
                ",".join(a["names"]),
                a["kind"],
                "" if a.get("rows") is None else a["rows"],
                human_size(a["size"]),
                " ".join(lineage.runs[r].short_id for r in a["produced_by"]),
            ]
            for a in artifacts
        ],
    )


def _made_from(link: dict[str, str], lineage: Lineage) -> str:
    """Render one link of a derived run: ``3f2a9c1d``, or ``3f2a9c1d(same data)``."""
    if "run_id" not in link:
        return short_hash(link["hash"])
    short = lineage.runs[link["run_id"]].short_id
    return short if link["via"] == "upstream" else f"{short}(same data)"
