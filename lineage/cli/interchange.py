"""Commands that trade with other tools: ``export openlineage``, ``import mlflow``."""

from __future__ import annotations

import sys

import click

from lineage.cli import render
from lineage.cli.group import CONTEXT, catalog_opt, cli, opts
from lineage.cli.options import json_option, progress


@cli.group(context_settings=CONTEXT)
def export() -> None:
    """Export the catalog to other tools."""


@export.command("openlineage", context_settings=CONTEXT)
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option("--upstream", is_flag=True, help="Also every run upstream of the REFs.")
@click.option("--since", metavar="TIME", help="Only runs that started at or after TIME.")
@click.option("--until", metavar="TIME", help="Only runs that started before TIME.")
@click.option("--out", metavar="FILE", help="Write JSON lines to FILE (- for standard output).")
@click.option("--url", metavar="URL", help="POST each event to an OpenLineage endpoint.")
@click.option(
    "--flush", is_flag=True, help="Send the events waiting in the spool ([openlineage] url)."
)
@json_option("Print what was done as JSON.")
@click.pass_context
def export_openlineage(
    ctx: click.Context,
    refs: tuple[str, ...],
    upstream: bool,
    since: str | None,
    until: str | None,
    out: str | None,
    url: str | None,
    flush: bool,
    as_json: bool,
) -> None:
    """Write OpenLineage run events (spec 2-0-2), sorted by event time, or POST them.

    Every run by default; REFs name runs (with --upstream, and all runs upstream of them);
    --since/--until select runs by when they started. Exporting twice gives the same
    events: a run's runId is its id written as a UUID.

    \b
    Examples:
      lineage export openlineage --out lineage.jsonl
      lineage export openlineage train:LogisticRegression --upstream --out model.jsonl
      lineage export openlineage --url http://localhost:5000/api/v1/lineage
      lineage export openlineage --flush       # send what the spool kept while it was down
    """
    from lineage import api

    if flush:
        if refs or upstream or since or until or out:
            raise click.UsageError("--flush sends the spool: it takes no REF, --out or times")
        sent = api.flush_openlineage(
            url=url, progress=progress("sending"), catalog=catalog_opt(ctx)
        )
        if as_json:
            render.echo_json({"sent": sent.sent, "left": sent.left, "url": sent.url})
        else:
            click.echo(f"sent {sent.sent} spooled events to {sent.url}")
        return
    if (out is None) == (url is None):
        raise click.UsageError(
            "say where the events go: --out FILE.jsonl (- for stdout) or --url URL"
        )
    if out == "-" and as_json:
        raise click.UsageError("--out - writes the events to standard output: drop --json")
    result = api.export_openlineage(
        list(refs),
        upstream=upstream,
        since=since,
        until=until,
        out=sys.stdout.buffer if out == "-" else out,
        url=url,
        progress=progress("exporting"),
        catalog=catalog_opt(ctx),
    )
    if as_json:
        render.echo_json({"runs": result.runs, "events": result.events, "target": result.target})
        return
    where = "standard output" if out == "-" else result.target
    verb = "sent" if url else "wrote"
    click.echo(f"{verb} {result.events} events of {result.runs} runs to {where}", err=out == "-")


@cli.group("import", context_settings=CONTEXT)
def import_() -> None:
    """Import runs from other tools."""


@import_.command("mlflow", context_settings=CONTEXT)
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    metavar="URI",
    required=True,
    help="The MLflow store: sqlite:///mlflow.db, http://host:5000, ./mlruns "
    "(or MLFLOW_TRACKING_URI).",
)
@click.option(
    "--step",
    "steps",
    multiple=True,
    required=True,
    metavar="EXPERIMENT=STEP:KEYPARAM:TIMEPARAM",
    help="Runs of EXPERIMENT become runs of STEP keyed by their param KEYPARAM at the time in "
    "TIMEPARAM (repeatable).",
)
@click.option(
    "--after",
    multiple=True,
    metavar="STEP=UPSTREAM",
    help="Link STEP's runs only to UPSTREAM's (repeatable; default: any step whose key and "
    "time params a run carries).",
)
@click.option("--artifacts", is_flag=True, help="Download and hash the artifacts into the store.")
@click.option("-j", "--jobs", default=4, show_default=True, help="Artifact downloads at once.")
@click.option("--dry-run", is_flag=True, help="Say what would be imported; record nothing.")
@json_option("Print the report as JSON.")
@click.pass_context
def import_mlflow(
    ctx: click.Context,
    tracking_uri: str,
    steps: tuple[str, ...],
    after: tuple[str, ...],
    artifacts: bool,
    jobs: int,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Import MLflow runs as typed runs: experiments become steps, params their identity.

    Each run keeps its params, metric history, tags, status, times, user and git commit; it
    is linked to the run of an upstream step whose key and time params it carries (as the
    typed-identity seed did). Importing again creates nothing new. A run lacking a named
    param, or whose time cannot be read, is reported (exit 1) and the rest imported.

    \b
    Example:
      lineage import mlflow --tracking-uri sqlite:///mlflow.db \\
        --step load=load:table:retrieval_time \\
        --step processing=process:logic:processed_time \\
        --step model=train:algorithm:trained_time
    """
    from lineage import api, times

    report = api.import_mlflow(
        tracking_uri,
        list(steps),
        after=list(after),
        artifacts=artifacts,
        dry_run=dry_run,
        jobs=jobs,
        progress=progress("artifacts"),
        **opts(ctx),
    )
    if as_json:
        render.echo_json(report.to_dict())
    else:
        if report.runs:
            render.echo_table(
                ["RUN", "STEP", "VALUE", "TIME", "STATUS", "UPSTREAM", "MLFLOW RUN", "ACTION"],
                [
                    [
                        item.run.short_id,
                        item.run.step,
                        item.run.value,
                        times.format_time(item.run.time),
                        item.run.status,
                        " ".join(u[:8] for u in item.upstream) or "-",
                        item.mlflow_run_id[:12],
                        item.action,
                    ]
                    for item in report.runs
                ],
            )
        new = report.count("import" if dry_run else "imported")
        verb = "would import" if dry_run else "imported"
        existing = report.count("exists")
        line = f"{verb} {new} runs ({existing} already imported) from {report.tracking_uri}"
        if artifacts and not dry_run:
            line += f"; {report.stored} artifacts stored"
        click.echo(line)
        if report.still_running:
            n = len(report.still_running)
            click.echo(
                f"{n} run{'s' if n > 1 else ''} still running in MLflow: import "
                f"{'them' if n > 1 else 'it'} when {'they end' if n > 1 else 'it ends'}"
            )
    for problem in report.problems:
        click.echo(f"Error: {problem}", err=True)
    if report.problems:
        ctx.exit(1)
