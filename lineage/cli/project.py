"""Commands about the project itself: ``lineage init`` and ``lineage info``."""

from __future__ import annotations

import click

from lineage.cli import render
from lineage.cli.group import CONTEXT, cli, opts
from lineage.cli.options import FilePath, json_option


@cli.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=FilePath(file_okay=False))
@click.option(
    "--example", is_flag=True, help="Also write a runnable example pipeline (load, process, train)."
)
@json_option("Print the result as JSON.")
@click.pass_context
def init(ctx: click.Context, path: str, example: bool, as_json: bool) -> None:
    """Create the catalog and artifact store of a project in PATH (default: here)."""
    from lineage import api

    result = api.init(path, example=example, **opts(ctx))
    if as_json:
        render.echo_json(render.init_dict(result))
    else:
        render.init_text(result, example, path)


@cli.command(context_settings=CONTEXT)
@json_option("Print the configuration as JSON.")
@click.pass_context
def info(ctx: click.Context, as_json: bool) -> None:
    """Show the project root, catalog and store in effect, versions, and what is reachable.

    Passwords in URLs are shown as ***. Exits 1 when the catalog or the store cannot be
    reached, after printing why.
    """
    from lineage import api

    found = api.info(**opts(ctx))
    if as_json:
        render.echo_json(found.to_dict())
    else:
        render.info_text(found)
    if not found.ok:
        ctx.exit(1)
