"""Commands that launch steps: ``lineage resolve`` (the chain) and ``lineage run`` (one step)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from lineage.cli import render
from lineage.cli.group import KEYED_CONTEXT, cli, opts
from lineage.cli.options import (
    KeyedCommand,
    ResolveCommand,
    collect_keys,
    collect_pins,
    json_option,
)

if TYPE_CHECKING:
    from lineage.resolver import Chain


@cli.command(cls=ResolveCommand, context_settings=KEYED_CONTEXT)
@click.option(
    "-P",
    "--param",
    "params",
    multiple=True,
    metavar="K=V",
    help="Set a parameter: C=0.5, or train.C=0.5 for one step (repeatable).",
)
@click.option(
    "--rerun",
    multiple=True,
    metavar="STEP",
    help="Launch a fresh run of STEP even if one exists (repeatable).",
)
@click.option("--allow-stale-code", is_flag=True, help="Reuse runs made by older code of a step.")
@click.option("--dry-run", is_flag=True, help="Print the plan (reuse / launch) and run nothing.")
@click.option(
    "--no-launch", is_flag=True, help="Return the newest chain that exists whole, or fail."
)
@click.option(
    "-j", "--jobs", default=1, show_default=True, help="Launch up to N independent steps at once."
)
@json_option('Print {"chain": [...]} as JSON.')
@click.pass_context
def resolve(ctx: click.Context, /, as_json: bool, **kwargs: Any) -> None:
    """Find the newest coherent chain of runs; launch only missing or stale steps.

    Keys of lineage.toml are options (--table, --logic, ...); the chain runs from the root
    steps down to the deepest step whose key is given. A key may list several values for a
    multi-input step: --table transactions,customers. Time options (--retrieval-time DATE)
    pin a step to its newest run at that time.

    \b
    Examples:
      lineage resolve --table transactions --logic plain --algorithm LogisticRegression
      lineage resolve --table transactions --logic scaled --dry-run
      lineage resolve --table transactions --logic plain --rerun load
    """
    from lineage import api
    from lineage.errors import NoChain, StepFailed

    pins = collect_pins(kwargs)
    keys = collect_keys(kwargs, ctx.args)
    try:
        chain = api.resolve(
            keys,
            params=list(kwargs["params"]),
            pins=pins,
            rerun=list(kwargs["rerun"]),
            allow_stale_code=kwargs["allow_stale_code"],
            dry_run=kwargs["dry_run"],
            no_launch=kwargs["no_launch"],
            jobs=kwargs["jobs"],
            on_output=None if as_json else render.step_output,
            on_event=None if as_json else render.resolver_event,
            **opts(ctx),
        )
    except (StepFailed, NoChain) as error:
        # The chain as far as it got, then the error line.
        failed = getattr(error, "chain", None)
        if failed is not None:
            _print_chain(failed, as_json)
        raise
    _print_chain(chain, as_json)


def _print_chain(chain: Chain, as_json: bool) -> None:
    if as_json:
        render.echo_json(chain.to_dict())
    else:
        render.chain_table(chain)


@cli.command("run", cls=KeyedCommand, context_settings=KEYED_CONTEXT)
@click.argument("step")
@click.option(
    "-P",
    "--param",
    "params",
    multiple=True,
    metavar="K=V",
    help="Set a parameter of the step (repeatable).",
)
@json_option("Print the run as JSON.")
@click.pass_context
def run_step(ctx: click.Context, /, step: str, as_json: bool, **kwargs: Any) -> None:
    """Launch one step now, as `lineage resolve` would launch it.

    The step's upstream runs are the newest coherent chain of its ancestors, which must
    exist (`lineage resolve` makes them). Give the key of the step and of its ancestors.

    \b
    Examples:
      lineage run load --table transactions         new data: a fresh retrieval
      lineage run train --table transactions --logic plain --algorithm LogisticRegression -P C=0.1
    """
    from lineage import api

    keys = collect_keys(kwargs, ctx.args)
    launched = api.run_step(
        step,
        keys,
        params=list(kwargs["params"]),
        on_output=None if as_json else render.step_output,
        **opts(ctx),
    )
    if as_json:
        render.echo_json(launched.to_dict())
    else:
        click.echo(f"{launched.short_id}  {launched.label}  {launched.status}")
