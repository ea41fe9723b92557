"""Commands that find and show what was recorded: ``runs``, ``show``, ``artifacts get``."""

from __future__ import annotations

import sys
from typing import Any

import click

from lineage.cli import render
from lineage.cli.group import CONTEXT, KEYED_CONTEXT, Group, catalog_opt, cli, opts
from lineage.cli.options import FilePath, KeyedCommand, collect_keys, json_option


@cli.command(cls=KeyedCommand, context_settings=KEYED_CONTEXT)
@click.option("--step", metavar="STEP", help="Only runs of this step.")
@click.option("--on", metavar="DATE", help="Only runs on this UTC day (or within this time).")
@click.option("--since", metavar="TIME", help="Only runs at or after TIME.")
@click.option("--until", metavar="TIME", help="Only runs before TIME (a date includes that day).")
@click.option(
    "--status",
    type=click.Choice(["running", "finished", "failed", "killed"]),
    help="Only runs with this status.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="K=V",
    help="Only runs with this parameter value (repeatable).",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    metavar="EXPR",
    help="Only runs whose metric compares so, e.g. 'auc>0.9' (repeatable).",
)
@click.option("--limit", default=50, show_default=True, help="At most this many runs (0: all).")
@json_option("Print a JSON list of runs.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.pass_context
def runs(ctx: click.Context, /, as_json: bool, as_csv: bool, **kwargs: Any) -> None:
    """Search runs by type and date, newest first.

    Any key of the pipeline or the catalog filters by value, --table transactions,
    --logic plain: it selects the runs with that value and every run made from them
    (add --step to keep one step). Times take ISO dates and datetimes (UTC),
    YYYYMMDD, YYYYMMDDHHMMSS, Unix seconds, today or yesterday.

    \b
    Examples:
      lineage runs --table transactions --on today
      lineage runs --step train --metric 'auc>0.9' --since 2026-11-01
      lineage runs --logic plain --json
    """
    from lineage import api

    keys = collect_keys(kwargs, ctx.args)
    found = api.search(
        step=kwargs["step"],
        keys=keys,
        on=kwargs["on"],
        since=kwargs["since"],
        until=kwargs["until"],
        status=kwargs["status"],
        params=list(kwargs["params"]),
        metrics=list(kwargs["metrics"]),
        limit=kwargs["limit"],
        catalog=catalog_opt(ctx),
    )
    if as_json:
        render.echo_json([run.to_dict() for run in found])
    elif as_csv:
        render.runs_csv(found)
    else:
        render.runs_table(found)


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option(
    "--metric", metavar="NAME", help="Print every logged value of this metric: step, value, time."
)
@json_option("Print the run as JSON.")
@click.pass_context
def show(ctx: click.Context, ref: str, metric: str | None, as_json: bool) -> None:
    """Show a run: identity, params, metrics, inputs and outputs with hashes, neighbours.

    REF is an id prefix (3f2a9c), step:value (newest), step:value@DATE (newest that day) or
    step:value@TIME (exact). With --metric NAME, the metric's history instead: every value
    logged, with its step and time.
    """
    from lineage import api

    if metric is not None:
        history = api.metric_history(ref, metric, catalog=catalog_opt(ctx))
        if as_json:
            render.echo_json(history.to_dict())
        else:
            render.metric_table(history)
        return
    details = api.show(ref, catalog=catalog_opt(ctx))
    if as_json:
        render.echo_json(details.to_dict())
    else:
        render.run_text(details)


@cli.group(cls=Group, context_settings=CONTEXT)
def artifacts() -> None:
    """Fetch artifacts from the store."""


@artifacts.command("get", context_settings=CONTEXT)
@click.argument("spec", metavar="REF:NAME")
@click.option(
    "-o",
    "--output",
    required=True,
    type=FilePath(allow_dash=True),
    help="Where to write the file or folder; - writes a file to stdout.",
)
@click.option("-f", "--force", is_flag=True, help="Overwrite what is at the output path.")
@json_option("Print what was fetched as JSON.")
@click.pass_context
def artifacts_get(ctx: click.Context, spec: str, output: str, force: bool, as_json: bool) -> None:
    """Fetch an artifact (REF:NAME, or a hash) to a path, verifying its hash.

    The hash may be given whole (xxh128:9a4f...) or as a hex prefix (9a4f0c1d). An existing
    file is left alone unless --force; -o - writes a file or table to stdout.

    \b
    Examples:
      lineage artifacts get train:LogisticRegression:model.pkl -o model.pkl
      lineage artifacts get 3f2a9c:features -o features.parquet
      lineage artifacts get 9a4f0c1d -o - | wc -c
    """
    from lineage import api
    from lineage.errors import OutputExists

    if output == "-":
        if as_json:
            raise click.UsageError("-o - writes the artifact to stdout: it cannot take --json")
        api.get_artifact(spec, sys.stdout.buffer, **opts(ctx))
        return
    try:
        artifact, target = api.get_artifact(spec, output, force=force, **opts(ctx))
    except OutputExists as error:
        raise OutputExists(
            f"{error.path!r} exists: choose another path, or pass --force to overwrite it",
            error.path,
        ) from None
    if as_json:
        render.echo_json({**artifact.to_dict(), "path": str(target)})
    else:
        click.echo(f"{target}  {artifact.hash}  {render.human_size(artifact.size)}")
