"""Commands that keep the catalog and store healthy: ``verify``, ``rm``, ``gc``, ``db``."""

from __future__ import annotations

import sys

import click

from lineage.cli import render
from lineage.cli.group import CONTEXT, Group, catalog_opt, cli, opts
from lineage.cli.options import json_option, progress


@cli.command(context_settings=CONTEXT)
@click.argument("ref", required=False)
@json_option("Print the report as JSON.")
@click.pass_context
def verify(ctx: click.Context, ref: str | None, as_json: bool) -> None:
    """Re-hash stored objects; name each corrupt or missing one and the runs it affects.

    Without REF, every object the catalog refers to; with REF, those of that run and of its
    upstream runs. Exits 1 when any object is corrupt or missing.
    """
    from lineage import api

    report = api.verify(ref, progress=progress("verifying"), **opts(ctx))
    if as_json:
        render.echo_json(report.to_dict())
    else:
        render.verify_text(report)
    if not report.ok:
        ctx.exit(1)


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option("--cascade", is_flag=True, help="Also remove every run that depends on it.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before a cascading removal.")
@json_option("Print the removed runs as JSON.")
@click.pass_context
def rm(ctx: click.Context, ref: str, cascade: bool, yes: bool, as_json: bool) -> None:
    """Delete a run's records: params, metrics, tags, edges and the run.

    Refuses when other runs consumed its outputs or list it as upstream, unless --cascade
    (which lists what it removes and asks first, unless --yes). Objects stay in the store
    until `lineage gc`.
    """
    from lineage import api

    plan = api.plan_remove(ref, cascade=cascade, **opts(ctx))
    if plan.dependents and not as_json:
        # Before asking, nothing is removed yet (and may never be): say what would be.
        head = "removing" if yes else "--cascade would remove"
        click.echo(f"{head} {render.plural(len(plan.runs), 'run')}:")
        for run in plan.runs:
            click.echo(f"  {run.short_id}  {run.label}  {run.status}")
    if plan.dependents and not yes:
        if as_json or not sys.stdin.isatty():
            raise click.UsageError("--cascade removes several runs: confirm with --yes")
        click.confirm(f"remove these {len(plan.runs)} runs?", abort=True)
    api.remove(plan, **opts(ctx))
    if as_json:
        render.echo_json({"removed": plan.to_dict()["runs"]})
        return
    click.echo(
        f"removed {len(plan.runs)} run{'s' if len(plan.runs) != 1 else ''}; "
        "run `lineage gc` to free the objects no run refers to any more"
    )


@cli.command(context_settings=CONTEXT)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--grace",
    default="10m",
    show_default=True,
    metavar="DURATION",
    help="Spare objects younger than this (30s, 10m, 1h, 0): a writer may be recording them.",
)
@json_option("Print the report as JSON.")
@click.pass_context
def gc(ctx: click.Context, dry_run: bool, grace: str, as_json: bool) -> None:
    """Remove store objects that no remaining run refers to, and stale temporary files."""
    from lineage import api

    report = api.gc(dry_run=dry_run, grace=grace, **opts(ctx))
    if as_json:
        render.echo_json(report.to_dict())
    else:
        render.gc_text(report, dry_run, grace)


@cli.group(cls=Group, context_settings=CONTEXT)
def db() -> None:
    """Inspect and upgrade the catalog's schema."""


@db.command("upgrade", context_settings=CONTEXT)
@json_option("Print the result as JSON.")
@click.pass_context
def db_upgrade(ctx: click.Context, as_json: bool) -> None:
    """Upgrade the catalog's schema in place to this version of lineage, keeping every row."""
    from lineage import api

    before, after = api.db_upgrade(catalog=catalog_opt(ctx))
    if as_json:
        render.echo_json({"from": before, "to": after})
    elif before == after:
        click.echo(f"catalog schema is current (revision {after})")
    else:
        click.echo(f"catalog schema upgraded from revision {before or 'none'} to {after}")


@db.command("status", context_settings=CONTEXT)
@json_option("Print the status as JSON.")
@click.pass_context
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Show the catalog's schema revision and the one this version of lineage needs."""
    from lineage import api

    status = api.db_status(catalog=catalog_opt(ctx))
    if as_json:
        render.echo_json(status)
        return
    click.echo(f"catalog   {status['catalog']}")
    click.echo(f"revision  {status['revision'] or 'none'}")
    click.echo(f"head      {status['head']}")
    click.echo(f"current   {'yes' if status['current'] else 'no: run `lineage db upgrade`'}")
