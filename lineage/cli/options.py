"""Options and callbacks several commands share: ``--json``, ``--KEY VALUE``, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
KEY_PREFIX = "key__"
TIME_PREFIX = "time__"


class FilePath(click.Path):
    """A path argument; one holding a NUL byte is a usage error, not an internal one.

    click.Path stats the path, and ``os.stat`` raises ValueError (not OSError) on a NUL.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail(f"{value!r} holds a NUL byte, which no path can", param, ctx)
        return super().convert(value, param, ctx)


def json_option(help: str) -> Callable[[F], F]:
    """Add ``--json`` (passed as ``as_json``): print one JSON document instead of text."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def progress(label: str) -> Callable[[int, int], None] | None:
    """Return a ``(done, total)`` callback drawing a bar on stderr, or None off a terminal."""
    if not sys.stderr.isatty():
        return None
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            state["bar"].__enter__()
            state["done"] = 0
        state["bar"].update(done - state["done"])
        state["done"] = done
        if done >= total:
            state.pop("bar").__exit__(None, None, None)

    return update


class KeyedCommand(click.Command):
    """A command that also takes ``--KEY VALUE`` for every key of the pipeline and catalog."""

    with_times = False

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        from lineage import api

        params = super().get_params(ctx)
        taken = {opt for p in params for opt in getattr(p, "opts", [])}
        if self.with_times:
            for time_name, step in api.declared_times().items():
                option = f"--{time_name.replace('_', '-')}"
                if option not in taken:
                    params.insert(
                        -1,
                        click.Option(
                            [option, TIME_PREFIX + time_name],
                            metavar="TIME",
                            help=f"Pin the {step} run to this time or UTC day.",
                        ),
                    )
        for key, steps in api.declared_keys().items():
            option = f"--{key.replace('_', '-')}"
            if option in taken:
                continue
            params.insert(
                -1,
                click.Option(
                    # A parameter name must be an identifier: a key "target-env" would crash
                    # click ("Invalid start character"); api.search matches either spelling.
                    [option, KEY_PREFIX + key.replace("-", "_")],
                    metavar="VALUE",
                    help=f"Key of step {', '.join(steps)} (a,b for several).",
                ),
            )
        return params


class ResolveCommand(KeyedCommand):
    """A keyed command that also takes ``--<time name> TIME`` to pin a step's run."""

    with_times = True


def collect_keys(kwargs: dict[str, Any], extra: Sequence[str]) -> dict[str, str]:
    """Gather ``--KEY VALUE`` pairs from declared options and from undeclared extra args."""
    keys = {
        name[len(KEY_PREFIX) :]: value
        for name, value in list(kwargs.items())
        if name.startswith(KEY_PREFIX) and value is not None
    }
    for name in [n for n in kwargs if n.startswith(KEY_PREFIX)]:
        kwargs.pop(name)
    args = list(extra)
    while args:
        flag = args.pop(0)
        if not flag.startswith("--") or len(flag) < 3:
            raise click.UsageError(f"unexpected argument {flag!r}: keys are given as --KEY VALUE")
        name, eq, value = flag[2:].partition("=")
        if not eq:
            if not args or args[0].startswith("--"):
                raise click.UsageError(f"option {flag} needs a value: {flag} VALUE")
            value = args.pop(0)
        keys[name.replace("-", "_")] = value
    return keys


def collect_pins(kwargs: dict[str, Any]) -> dict[str, str]:
    """Gather the ``--<time name> TIME`` pins out of the keyword arguments."""
    pins = {}
    for name in [n for n in kwargs if n.startswith(TIME_PREFIX)]:
        value = kwargs.pop(name)
        if value is not None:
            pins[name[len(TIME_PREFIX) :]] = value
    return pins
