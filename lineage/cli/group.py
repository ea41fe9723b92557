"""The root ``lineage`` group and ``main``: the one place errors become ``Error: ...`` lines.

The group reads the options every command shares (``--catalog``, ``--store``, ``--debug``) and
hands them down through the click context; ``main`` runs the group and turns every
``LineageError`` (and click's own usage errors) into one line on stderr and its exit code.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TypedDict

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# Keyed commands take --KEY VALUE for keys only lineage.toml or the catalog knows: the
# undeclared ones reach the library, which names the real problem (an unknown key, or a
# lineage.toml too broken to declare any).
KEYED_CONTEXT = {**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True}


class Group(click.Group):
    """A group whose command list shows each command's first line whole, wrapped if long.

    click cuts it to fit one line ("Remove store objects that no remaining run refers to,
    and..."), which loses the half that says what the command is for.
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=Group, context_settings=CONTEXT)
@click.option(
    "--catalog",
    envvar="LINEAGE_CATALOG_URL",
    metavar="URL",
    help="Catalog database URL (default: sqlite:///.lineage/catalog.db in the project).",
)
@click.option(
    "--store",
    envvar="LINEAGE_STORE_URL",
    metavar="URL",
    help="Artifact store: a folder, memory:// or s3://bucket/prefix (default: .lineage/objects).",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.version_option(package_name="lineage-catalog", prog_name="lineage")
@click.pass_context
def cli(ctx: click.Context, catalog: str | None, store: str | None, debug: bool) -> None:
    """Record runs under typed identities and rebuild only what changed.

    \b
    Start with:
      lineage init --example              write a runnable example pipeline
      lineage resolve --table transactions --logic plain --algorithm LogisticRegression
      lineage runs --on today             what ran today, newest first
      lineage show train:LogisticRegression
    """
    ctx.obj = {"catalog": catalog, "store": store, "debug": debug}


class Urls(TypedDict):
    """The catalog and store URLs given to the root group (None: the project's default)."""

    catalog: str | None
    store: str | None


def opts(ctx: click.Context) -> Urls:
    """Return the ``catalog`` and ``store`` URLs given to the root group, as keyword arguments."""
    obj = ctx.find_root().obj or {}
    return {"catalog": obj.get("catalog"), "store": obj.get("store")}


def catalog_opt(ctx: click.Context) -> str | None:
    """Return the ``--catalog`` URL given to the root group, for commands without a store."""
    return opts(ctx)["catalog"]


def _cli_message(error: Exception) -> str:
    """Return an error's message, its remedy said with this command line's own options."""
    from lineage.errors import CatalogUnreadable, HasDependents

    if isinstance(error, HasDependents):
        return error.with_remedy("rerun with --cascade")
    if isinstance(error, CatalogUnreadable):
        if error.is_file:
            return error.with_remedy(
                "check the file, or point --catalog / LINEAGE_CATALOG_URL at a lineage catalog"
            )
        return error.with_remedy(
            "check that the server is up and the URL is right (--catalog, LINEAGE_CATALOG_URL)"
        )
    return str(error)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI: turn every LineageError into one line and its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("LINEAGE_DEBUG"))
    with warnings.catch_warnings():
        _show_lineage_warnings()
        _run(args, debug)


def _show_lineage_warnings() -> None:
    """Print each distinct ``LineageWarning`` once, as one ``Warning: ...`` line on stderr."""
    from lineage.errors import LineageWarning

    shown: set[str] = set()
    default = warnings.showwarning
    warnings.simplefilter("always", LineageWarning)

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if not issubclass(category, LineageWarning):
            default(message, category, *args, **kwargs)
        elif str(message) not in shown:
            shown.add(str(message))
            click.echo(f"Warning: {message}", err=True)

    warnings.showwarning = show


def _run(args: list[str], debug: bool) -> None:
    from lineage.errors import LineageError

    try:
        # https://no-color.org: any non-empty NO_COLOR turns styling off, terminal or not.
        color = False if os.environ.get("NO_COLOR") else None
        code = cli.main(args=args, prog_name="lineage", standalone_mode=False, color=color)
        if isinstance(code, int) and code:
            sys.exit(code)
    except LineageError as error:
        if debug:
            raise
        click.echo(f"Error: {_cli_message(error)}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.UsageError as error:
        # One line, like every other error: what was wrong, then where help is.
        where = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        message = " ".join(error.format_message().split())
        click.echo(f"Error: {message}{where}", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(f"Error: {' '.join(error.format_message().split())}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # `lineage runs | head`: the reader left; nothing to report.
        sys.stderr.close()
        sys.exit(0)
    except Exception as error:  # a bug: say so in one line, keep the traceback for --debug
        if debug:
            raise
        click.echo(
            f"Error: internal error ({type(error).__name__}: {error}); rerun with --debug "
            "and report it",
            err=True,
        )
        sys.exit(1)
