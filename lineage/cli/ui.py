"""``lineage ui``: serve the read-only web UI until Ctrl-C."""

from __future__ import annotations

import click

from lineage.cli.group import CONTEXT, cli, opts


@cli.command("ui", context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8250, show_default=True, help="Port (0: any free port).")
@click.option(
    "--token",
    envvar="LINEAGE_UI_TOKEN",
    metavar="TOKEN",
    help="Require this token on every request (needed off loopback; env LINEAGE_UI_TOKEN).",
)
@click.pass_context
def ui(ctx: click.Context, host: str, port: int, token: str | None) -> None:
    """Serve a read-only web UI of the catalog until Ctrl-C.

    Runs, a run's details, data versions, lineage graphs, audit, impact, comparisons and
    the resolve plan; every page also as JSON (add .json). It listens on 127.0.0.1 unless
    --host says otherwise, which then needs --token: open the address once with
    ?token=TOKEN and a cookie keeps it.

    \b
    Examples:
      lineage ui
      LINEAGE_UI_TOKEN=$(openssl rand -hex 16) lineage ui --host 0.0.0.0
    """
    from lineage.ui.server import is_loopback, serve

    if not is_loopback(host) and not token:
        raise click.UsageError(
            f"--host {host} can be reached from other machines: give --token TOKEN "
            "(or set LINEAGE_UI_TOKEN)"
        )

    def ready(address: str) -> None:
        click.echo(f"serving {address}")
        click.echo("read-only; Ctrl-C stops it", err=True)

    serve(host, port, token=token, on_ready=ready, **opts(ctx))
