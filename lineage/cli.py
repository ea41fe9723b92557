"""The ``lineage`` command: thin click commands over the library; the only module that prints.

Each command parses, calls one library function, and renders: aligned tables for people,
``--json`` (one document on stdout) for scripts. Errors are ``LineageError``s turned into one
``Error: ...`` line and their exit code in ``main``; no traceback reaches the user unless
``--debug`` asks for it.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
KEY_PREFIX = "key__"
TIME_PREFIX = "time__"


# -- output helpers ---------------------------------------------------------------------------


def echo_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(document, indent=2, sort_keys=False, default=str))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as an aligned table with a header line."""
    text_rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    click.echo(click.style(line, bold=True) if sys.stdout.isatty() else line)
    for row in text_rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def sized(size: int) -> str:
    """Return ``512 B``, or ``1536 bytes, 1.5 KiB`` where the unit rounds (not ``0 bytes, 0 B``)."""
    return human_size(size) if size < 1024 else f"{size} bytes, {human_size(size)}"


def clipped(text: str, width: int = 40) -> str:
    """Cut a cell to ``width`` characters, marking the cut: one long value must not widen a
    whole table (``--json`` keeps it whole)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def plural(count: int, noun: str) -> str:
    """Return ``1 object``, ``2 objects``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def short_hash(hash_: str) -> str:
    algorithm, _, hexdigest = hash_.partition(":")
    return f"{algorithm}:{hexdigest[:12]}"


def format_metrics(metrics: dict[str, float], limit: int = 3) -> str:
    items = [f"{k}={v:.4g}" for k, v in list(metrics.items())[:limit]]
    if len(metrics) > limit:
        items.append("...")
    return " ".join(items)


def progress_bar(total: int, label: str) -> Callable[[int], None] | None:
    """Return a progress callback drawing on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty() or total <= 0:
        return None
    bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=False)
    bar.__enter__()
    done = [0]

    def update(n: int) -> None:
        done[0] += n
        bar.update(n)
        if done[0] >= total:
            bar.__exit__(None, None, None)

    return update


# -- keyed commands: options that come from lineage.toml --------------------------------------


def _declared_keys() -> dict[str, list[str]]:
    """Read the keys declared in lineage.toml around the current folder (cheap: no database)."""
    try:
        from lineage.pipeline import load_pipeline
        from lineage.project import find_root

        root = find_root()
        pipeline = load_pipeline(root) if root else None
    except Exception:  # a broken lineage.toml is reported by the command itself, not by --help
        return {}
    return pipeline.keys() if pipeline else {}


def _declared_times() -> dict[str, str]:
    """Read the time names declared in lineage.toml: ``{time_name: step}``."""
    try:
        from lineage.pipeline import load_pipeline
        from lineage.project import find_root

        root = find_root()
        pipeline = load_pipeline(root) if root else None
    except Exception:  # reported by the command itself
        return {}
    return {pipeline.steps[n].time: n for n in pipeline.order} if pipeline else {}


class KeyedCommand(click.Command):
    """A command that also takes ``--KEY VALUE`` for every key of the pipeline and catalog."""

    with_times = False

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        taken = {opt for p in params for opt in getattr(p, "opts", [])}
        if self.with_times:
            for time_name, step in _declared_times().items():
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
        for key, steps in _declared_keys().items():
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


# -- the group --------------------------------------------------------------------------------


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


def _opts(ctx: click.Context) -> dict[str, str | None]:
    obj = ctx.find_root().obj or {}
    return {"catalog": obj.get("catalog"), "store": obj.get("store")}


# -- init -------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--example", is_flag=True, help="Also write a runnable example pipeline (load, process, train)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def init(ctx: click.Context, path: str, example: bool, as_json: bool) -> None:
    """Create the catalog and artifact store of a project in PATH (default: here)."""
    from lineage import api
    from lineage.urls import shown_url

    result = api.init(path, example=example, **_opts(ctx))
    if as_json:
        echo_json(
            {
                "root": str(result.root),
                "catalog": shown_url(result.catalog_url),
                "store": shown_url(result.store_url),
                "written": [str(p) for p in result.written],
                "kept": [str(p) for p in result.kept],
            }
        )
        return
    click.echo(f"project  {result.root}")
    click.echo(f"catalog  {shown_url(result.catalog_url)}")
    click.echo(f"store    {shown_url(result.store_url)}")
    for written in result.written:
        click.echo(f"wrote    {written.relative_to(result.root)}")
    for kept in result.kept:
        click.echo(f"kept     {kept.relative_to(result.root)} (exists)")
    if example:
        go = "" if result.root == Path.cwd().resolve() else f"cd {shlex.quote(path)} && "
        click.echo(
            f"\nNext: {go}lineage resolve --table transactions --logic plain "
            "--algorithm LogisticRegression"
        )


# -- runs, show, artifacts --------------------------------------------------------------------


@cli.command(
    cls=KeyedCommand,
    context_settings={**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True},
)
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
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of runs.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.pass_context
def runs(ctx: click.Context, as_json: bool, as_csv: bool, **kwargs: Any) -> None:
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
    from lineage import api, times

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
        catalog=_opts(ctx)["catalog"],
    )
    if as_json:
        echo_json([run.to_dict() for run in found])
        return
    if as_csv:
        import csv
        import io

        # Through click.echo, not sys.stdout: one output path, so CliRunner and pipes see it
        # in order (writes to sys.stdout were left unflushed in the test runner's buffer).
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["run_id", "step", "key", "value", "time", "status", "params", "metrics"])
        for run in found:
            writer.writerow(
                [
                    run.id,
                    run.step,
                    run.key,
                    run.value,
                    times.format_precise(run.time),
                    run.status,
                    json.dumps(run.to_dict()["params"], sort_keys=True),
                    json.dumps(run.metrics, sort_keys=True),
                ]
            )
        click.echo(buffer.getvalue(), nl=False)
        return
    if not found:
        click.echo("no runs match", err=True)
        return
    echo_table(
        ["RUN", "STEP", "KEY", "VALUE", "TIME", "STATUS", "METRICS"],
        [
            [
                run.short_id,
                run.step,
                run.key,
                clipped(run.value),
                times.format_time(run.time),
                run.status,
                format_metrics(run.metrics),
            ]
            for run in found
        ],
    )


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option(
    "--metric", metavar="NAME", help="Print every logged value of this metric: step, value, time."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def show(ctx: click.Context, ref: str, metric: str | None, as_json: bool) -> None:
    """Show a run: identity, params, metrics, inputs and outputs with hashes, neighbours.

    REF is an id prefix (3f2a9c), step:value (newest), step:value@DATE (newest that day) or
    step:value@TIME (exact). With --metric NAME, the metric's history instead: every value
    logged, with its step and time.
    """
    from lineage import api, times

    if metric is not None:
        history = api.metric_history(ref, metric, catalog=_opts(ctx)["catalog"])
        if as_json:
            echo_json(history.to_dict())
            return
        echo_table(
            ["STEP", "VALUE", "TIME"],
            [
                ["" if step is None else step, f"{value:.6g}", times.format_precise(moment)]
                for step, value, moment in history.points
            ],
        )
        return
    details = api.show(ref, catalog=_opts(ctx)["catalog"])
    if as_json:
        echo_json(details.to_dict())
        return
    run = details.run
    lines = [
        ("run", run.id),
        ("identity", f"{run.step}  {run.key}={run.value}  {times.format_precise(run.time)}"),
        ("status", run.status + (f" (exit {run.exit_code})" if run.exit_code is not None else "")),
        ("started", times.format_time(run.started_at)),
    ]
    if run.ended_at:
        seconds = (run.ended_at - run.started_at).total_seconds()
        lines.append(("ended", f"{times.format_time(run.ended_at)}  ({seconds:.2f}s)"))
    if run.error:
        lines.append(("error", run.error.splitlines()[-1] if run.error.strip() else run.error))
    if run.command:
        lines.append(("command", run.command))
    if run.code_hash:
        lines.append(("code", run.code_hash))
    if run.git_commit:
        lines.append(("git", run.git_commit[:12] + (" (dirty)" if run.git_dirty else "")))
    lines.append(("by", f"{run.user or '?'}@{run.host or '?'} pid {run.pid or '?'}"))
    if run.params:
        lines.append(("params", " ".join(f"{k}={v}" for k, v in sorted(run.params.items()))))
    if run.metrics:
        lines.append(("metrics", " ".join(f"{k}={v:.6g}" for k, v in sorted(run.metrics.items()))))
    if run.tags:
        lines.append(("tags", " ".join(f"{k}={v}" for k, v in sorted(run.tags.items()))))
    for label, value in lines:
        click.echo(f"{label:<10} {value}")
    for title, artifacts in (("inputs", details.inputs), ("outputs", details.outputs)):
        click.echo(f"\n{title}:")
        if not artifacts:
            click.echo("  (none)")
            continue
        echo_table(
            ["  NAME", "KIND", "HASH", "SIZE", "ROWS"],
            [
                [
                    "  " + a.name,
                    a.kind,
                    a.hash,
                    human_size(a.size),
                    a.rows if a.rows is not None else "",
                ]
                for a in artifacts
            ],
        )
    for title, neighbours in (("upstream", details.upstream), ("downstream", details.downstream)):
        if neighbours:
            click.echo(f"\n{title}:")
            for other in neighbours:
                click.echo(f"  {other.short_id}  {other.label}  {other.status}")


@cli.group(cls=Group, context_settings=CONTEXT)
def artifacts() -> None:
    """Fetch artifacts from the store."""


@artifacts.command("get", context_settings=CONTEXT)
@click.argument("spec", metavar="REF:NAME")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(allow_dash=True),
    help="Where to write the file or folder; - writes a file to stdout.",
)
@click.option("-f", "--force", is_flag=True, help="Overwrite what is at the output path.")
@click.option("--json", "as_json", is_flag=True, help="Print what was fetched as JSON.")
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
        api.get_artifact(spec, sys.stdout.buffer, **_opts(ctx))
        return
    try:
        artifact, target = api.get_artifact(spec, output, force=force, **_opts(ctx))
    except OutputExists as error:
        raise OutputExists(
            f"{error.path!r} exists: choose another path, or pass --force to overwrite it",
            error.path,
        ) from None
    if as_json:
        echo_json({**artifact.to_dict(), "path": str(target)})
        return
    click.echo(f"{target}  {artifact.hash}  {human_size(artifact.size)}")


# -- resolver commands (run, resolve, audit, impact, graph) ----------------------------------


class ResolveCommand(KeyedCommand):
    with_times = True


def collect_pins(kwargs: dict[str, Any]) -> dict[str, str]:
    """Gather the ``--<time name> TIME`` pins out of the keyword arguments."""
    pins = {}
    for name in [n for n in kwargs if n.startswith(TIME_PREFIX)]:
        value = kwargs.pop(name)
        if value is not None:
            pins[name[len(TIME_PREFIX) :]] = value
    return pins


def _echo_step_output(label: str, line: str) -> None:
    click.echo(f"{click.style(label, dim=True)} | {line}", err=True)


def _echo_event(action: str, link: Any) -> None:
    if action == "waiting":
        click.echo(f"waiting for {link.ref}: another resolve ({link.reason}) launches it", err=True)
    if action == "launching":
        why = f" ({link.reason})" if link.reason else ""
        click.echo(f"launching {link.ref} run {link.run.short_id}{why}", err=True)


def _echo_chain(chain: Any) -> None:
    from lineage import times

    echo_table(
        ["STEP", "KEY", "VALUE", "TIME", "RUN", "ACTION", "WHY"],
        [
            [
                link.step,
                link.key,
                link.value,
                times.format_time(link.run.time) if link.run else "",
                link.run.short_id if link.run else "",
                link.action,
                link.reason,
            ]
            for link in chain.links
        ],
    )


@cli.command(
    cls=ResolveCommand,
    # Undeclared --KEY options reach the library, which names the real problem: an unknown
    # key, or a lineage.toml too broken to declare any.
    context_settings={**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True},
)
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
@click.option("--json", "as_json", is_flag=True, help='Print {"chain": [...]} as JSON.')
@click.pass_context
def resolve(ctx: click.Context, as_json: bool, **kwargs: Any) -> None:
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
    quiet = as_json
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
            on_output=None if quiet else _echo_step_output,
            on_event=None if quiet else _echo_event,
            **_opts(ctx),
        )
    except (StepFailed, NoChain) as error:
        chain = getattr(error, "chain", None)
        if chain is not None:
            echo_json(chain.to_dict()) if as_json else _echo_chain(chain)
        raise
    if as_json:
        echo_json(chain.to_dict())
    else:
        _echo_chain(chain)


@cli.command(
    "run",
    cls=KeyedCommand,
    # Undeclared --KEY options reach the library, which names the real problem: an unknown
    # key, or a lineage.toml too broken to declare any.
    context_settings={**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("step")
@click.option(
    "-P",
    "--param",
    "params",
    multiple=True,
    metavar="K=V",
    help="Set a parameter of the step (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_context
def run_step(ctx: click.Context, step: str, as_json: bool, **kwargs: Any) -> None:
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
        on_output=None if as_json else _echo_step_output,
        **_opts(ctx),
    )
    if as_json:
        echo_json(launched.to_dict())
    else:
        click.echo(f"{launched.short_id}  {launched.label}  {launched.status}")


# audit, impact, graph


def _verify_progress() -> Callable[[int, int], None]:
    """Return a progress callback ``(done, total)`` drawing a bar once the total is known."""
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = progress_bar(total, "verifying")
            state["done"] = 0
        if state["bar"] is not None:
            state["bar"](done - state["done"])
        state["done"] = done

    return update


def _artifact_line(artifact: Any, verified: dict[str, Any] | None) -> str:
    """Render ``hash  rows  size  [ok]`` for one artifact (an ArtifactInfo)."""
    parts = [artifact.hash]
    if artifact.rows is not None:
        parts.append(f"{artifact.rows} row" + ("" if artifact.rows == 1 else "s"))
    parts.append(human_size(artifact.size))
    if verified is not None and artifact.hash in verified:
        check = verified[artifact.hash]
        parts.append(check.status if check.ok else check.status.upper() + f" ({check.detail})")
    return "  ".join(parts)


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option("--verify", is_flag=True, help="Re-hash every stored object on the way.")
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON.")
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
    from lineage import times
    from lineage.errors import StoreError
    from lineage.walks import audit as audit_lineage

    result = audit_lineage(
        ref, verify=verify, progress=_verify_progress() if verify else None, **_opts(ctx)
    )
    broken = result.broken
    if as_json:
        echo_json(result.to_dict())
    else:
        lineage = result.lineage
        verified = result.verified
        if result.run is not None:
            head = f"{result.run.label} (run {result.run.short_id}, {result.run.status})"
        else:
            head = f"artifact {result.target.hash}"
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
                    f"  {shown}  {artifact.name}  {_artifact_line(artifact, verified)}"
                    + (f"  run {version.run.short_id}" if i == 0 else "")
                )
                if artifact.schema:
                    columns = json.loads(artifact.schema)
                    listed = ", ".join(f"{c['name']} {c['type']}" for c in columns[:8])
                    more = f", ... ({len(columns)} columns)" if len(columns) > 8 else ""
                    click.echo(f"  {' ' * len(label)}  columns: {listed}{more}")
        if result.run is None and verified is not None:
            click.echo(f"\nartifact  {_artifact_line(result.target, verified)}")
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
                click.echo(
                    f"    in      {artifact.name}  {_artifact_line(artifact, verified)}{origin}"
                )
            for artifact in lineage.outputs.get(run.id, []):
                click.echo(f"    out     {artifact.name}  {_artifact_line(artifact, verified)}")
        if verified is not None and not broken:
            click.echo(f"\nverified: all {len(verified)} objects on the way are intact")
    if broken:
        listed = ", ".join(f"{v.hash} ({v.status})" for v in broken[:3])
        raise StoreError(
            f"{len(broken)} of {len(result.verified or {})} objects on the way are corrupt or "
            f"missing: {listed}; run `lineage verify` for the whole store"
        )


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the impact as JSON.")
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
    from lineage import times
    from lineage.catalog import RunInfo
    from lineage.walks import impact as impact_lineage

    result = impact_lineage(ref, catalog=_opts(ctx)["catalog"])
    if as_json:
        echo_json(result.to_dict())
        return
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


def _made_from(link: dict[str, str], lineage: Any) -> str:
    """Render one link of a derived run: ``3f2a9c1d``, or ``3f2a9c1d(same data)``."""
    if "run_id" not in link:
        return short_hash(link["hash"])
    short = lineage.runs[link["run_id"]].short_id
    return short if link["via"] == "upstream" else f"{short}(same data)"


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
@click.option("--json", "as_json", is_flag=True, help="Print nodes and edges as JSON.")
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
    from lineage.graph import graph as lineage_graph

    drawn = lineage_graph(ref, catalog=_opts(ctx)["catalog"])
    if as_json:
        echo_json(drawn.to_dict())
        return
    click.echo(drawn.render(fmt))


# -- team commands (info) ---------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the configuration as JSON.")
@click.pass_context
def info(ctx: click.Context, as_json: bool) -> None:
    """Show the project root, catalog and store in effect, versions, and what is reachable.

    Passwords in URLs are shown as ***. Exits 1 when the catalog or the store cannot be
    reached, after printing why.
    """
    from lineage.info import info as get_info

    found = get_info(**_opts(ctx))
    if as_json:
        echo_json(found.to_dict())
    else:
        click.echo(f"{'project':<11}{found.root or '(none here: run `lineage init`)'}")
        for label, check in (("catalog", found.catalog), ("store", found.store)):
            if check.reachable:
                extra = ""
                if "runs" in check.details:
                    version = check.details["schema_version"]
                    revision = "none" if version is None else f"{version:04d}"
                    # The revision as `lineage db status` names it: 0003, not 3.
                    extra = f", schema revision {revision}, {plural(check.details['runs'], 'run')}"
                state = f"reachable{extra}"
            else:
                state = f"unreachable: {check.error}"
            click.echo(f"{label:<11}{check.url}")
            click.echo(f"{'':<11}{state}")
        for name, version in found.versions.items():
            click.echo(f"{name:<11}{version or 'not installed'}")
    if not found.ok:
        ctx.exit(1)


# -- integrity commands (verify, rm, gc, db) --------------------------------------------------


def _bytes_bar(label: str) -> Callable[[int, int], None] | None:
    """Return a (done, total) progress callback drawing on stderr when it is a terminal."""
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


@cli.command(context_settings=CONTEXT)
@click.argument("ref", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def verify(ctx: click.Context, ref: str | None, as_json: bool) -> None:
    """Re-hash stored objects; name each corrupt or missing one and the runs it affects.

    Without REF, every object the catalog refers to; with REF, those of that run and of its
    upstream runs. Exits 1 when any object is corrupt or missing.
    """
    from lineage import integrity

    report = integrity.verify(ref, progress=_bytes_bar("verifying"), **_opts(ctx))
    if as_json:
        echo_json(report.to_dict())
    else:
        for problem in report.problems:
            where = f" ({', '.join(problem.paths)} in a folder)" if problem.paths else ""
            click.echo(f"{problem.status:<8} {problem.hash}  {problem.kind}{where}")
            for run in problem.runs:
                click.echo(f"         used by {run.short_id}  {run.label}  {run.status}")
        summary = f"checked {plural(report.checked, 'object')} ({human_size(report.bytes)})"
        if report.ok:
            click.echo(f"{summary}: all intact")
        else:
            counts = {status: 0 for status in ("corrupt", "missing", "malformed")}
            for problem in report.problems:
                counts[problem.status] = counts.get(problem.status, 0) + 1
            if not counts["malformed"]:
                del counts["malformed"]  # a hand-edited catalog is rare: say it only then
            click.echo(f"{summary}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if not report.ok:
        ctx.exit(1)


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option("--cascade", is_flag=True, help="Also remove every run that depends on it.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before a cascading removal.")
@click.option("--json", "as_json", is_flag=True, help="Print the removed runs as JSON.")
@click.pass_context
def rm(ctx: click.Context, ref: str, cascade: bool, yes: bool, as_json: bool) -> None:
    """Delete a run's records: params, metrics, tags, edges and the run.

    Refuses when other runs consumed its outputs or list it as upstream, unless --cascade
    (which lists what it removes and asks first, unless --yes). Objects stay in the store
    until `lineage gc`.
    """
    from lineage import integrity

    plan = integrity.plan_remove(ref, cascade=cascade, **_opts(ctx))
    if plan.dependents and not as_json:
        # Before asking, nothing is removed yet (and may never be): say what would be.
        head = "removing" if yes else "--cascade would remove"
        click.echo(f"{head} {plural(len(plan.runs), 'run')}:")
        for run in plan.runs:
            click.echo(f"  {run.short_id}  {run.label}  {run.status}")
    if plan.dependents and not yes:
        if as_json or not sys.stdin.isatty():
            raise click.UsageError("--cascade removes several runs: confirm with --yes")
        click.confirm(f"remove these {len(plan.runs)} runs?", abort=True)
    integrity.remove(plan, **_opts(ctx))
    if as_json:
        echo_json({"removed": plan.to_dict()["runs"]})
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
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def gc(ctx: click.Context, dry_run: bool, grace: str, as_json: bool) -> None:
    """Remove store objects that no remaining run refers to, and stale temporary files."""
    from lineage import integrity

    report = integrity.gc(dry_run=dry_run, grace=grace, **_opts(ctx))
    if as_json:
        echo_json(report.to_dict())
        return
    verb = "would remove" if dry_run else "removed"
    for obj in report.objects:
        click.echo(f"{verb}  {obj.hash}  {human_size(obj.size)}")
    for path, size in report.temporary:
        click.echo(f"{verb}  {path}  {human_size(size)}")
    count = len(report.objects) + len(report.temporary)
    young = (
        f" ({report.young} unreferenced but younger than {grace}: --grace 0 takes them too)"
        if report.young
        else ""
    )
    click.echo(
        f"{verb} {plural(count, 'object')} ({sized(report.bytes)}); kept {report.kept}{young}"
    )


@cli.group(cls=Group, context_settings=CONTEXT)
def db() -> None:
    """Inspect and upgrade the catalog's schema."""


@db.command("upgrade", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def db_upgrade(ctx: click.Context, as_json: bool) -> None:
    """Upgrade the catalog's schema in place to this version of lineage, keeping every row."""
    from lineage import integrity

    before, after = integrity.db_upgrade(catalog=_opts(ctx)["catalog"])
    if as_json:
        echo_json({"from": before, "to": after})
    elif before == after:
        click.echo(f"catalog schema is current (revision {after})")
    else:
        click.echo(f"catalog schema upgraded from revision {before or 'none'} to {after}")


@db.command("status", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Show the catalog's schema revision and the one this version of lineage needs."""
    from lineage import integrity

    status = integrity.db_status(catalog=_opts(ctx)["catalog"])
    if as_json:
        echo_json(status)
        return
    click.echo(f"catalog   {status['catalog']}")
    click.echo(f"revision  {status['revision'] or 'none'}")
    click.echo(f"head      {status['head']}")
    click.echo(f"current   {'yes' if status['current'] else 'no: run `lineage db upgrade`'}")


# -- entry point ------------------------------------------------------------------------------


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
        click.echo(f"Error: {error}", err=True)
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


if __name__ == "__main__":
    main()
