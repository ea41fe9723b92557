"""Commands that walk the lineage: ``audit`` (upstream), ``impact`` (downstream), ``graph``."""

from __future__ import annotations

import click

from lineage.cli import render
from lineage.cli.group import CONTEXT, catalog_opt, cli, opts
from lineage.cli.options import json_option, progress
from lineage.cli.render_walks import audit_text, impact_text


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option("--verify", is_flag=True, help="Re-hash every stored object on the way.")
@json_option("Print the audit as JSON.")
@click.pass_context
def audit(ctx: click.Context, ref: str, verify: bool, as_json: bool) -> None:
    """Walk upstream to the data versions of a run.

    Walks from a run (a model) or an artifact to the data versions that produced it. REF is a
    run ref (train:LogisticRegression, an id prefix) or an artifact hash (xxh128:9a4f..., or
    a hex prefix). Prints first the answer, the load runs with their retrieval times and data
    hashes; then every run on the way with its identity, params and code hash, and every
    artifact with its hash, rows and size. Exit 1 when --verify finds an object corrupt or
    missing.

    \b
    Examples:
      lineage audit train:LogisticRegression
      lineage audit train:LogisticRegression@2026-11-20 --verify
      lineage audit xxh128:9a4f0c1d --json
    """
    from lineage import api
    from lineage.errors import StoreError

    result = api.audit(
        ref, verify=verify, progress=progress("verifying") if verify else None, **opts(ctx)
    )
    if as_json:
        render.echo_json(result.to_dict())
    else:
        audit_text(result)
    broken = result.broken
    if broken:
        listed = ", ".join(f"{v.hash} ({v.status})" for v in broken[:3])
        raise StoreError(
            f"{len(broken)} of {len(result.verified or {})} objects on the way are corrupt or "
            f"missing: {listed}; run `lineage verify` for the whole store"
        )


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@json_option("Print the impact as JSON.")
@click.pass_context
def impact(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Walk downstream: what was derived from it.

    Lists every run and artifact derived from a run or a data version. REF is a run ref
    (load:transactions, an id prefix) or an artifact hash (xxh128:9a4f..., or a hex prefix).
    A run is derived from another when it was made from it, or when it consumed data it
    produced (the same hash): the answer to "what must be retrained?".

    \b
    Examples:
      lineage impact load:transactions
      lineage impact load:transactions@2026-11-20 --json
      lineage impact xxh128:9a4f0c1d
    """
    from lineage import api

    result = api.impact(ref, catalog=catalog_opt(ctx))
    if as_json:
        render.echo_json(result.to_dict())
    else:
        impact_text(result)


@cli.command(context_settings=CONTEXT)
@click.argument("ref", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot"]),
    default="text",
    show_default=True,
    help="An indented tree, a mermaid flowchart, or graphviz dot.",
)
@json_option("Print nodes and edges as JSON.")
@click.pass_context
def graph(ctx: click.Context, ref: str | None, fmt: str, as_json: bool) -> None:
    """Draw the lineage graph (text, mermaid, dot).

    Draws the lineage around a run or an artifact, or without REF the catalog's steps. Around
    a run: its upstream and downstream runs and their artifacts, edges labelled by
    output and input names. Without REF: the steps with their run counts, edges from the
    recorded runs and from lineage.toml's `after`.

    \b
    Examples:
      lineage graph
      lineage graph train:LogisticRegression
      lineage graph load:transactions --format mermaid
      lineage graph 3f2a9c --format dot | dot -Tsvg -o lineage.svg
    """
    from lineage import api

    drawn = api.graph(ref, catalog=catalog_opt(ctx))
    if as_json:
        render.echo_json(drawn.to_dict())
    else:
        click.echo(drawn.render(fmt))
