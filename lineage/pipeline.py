"""``lineage.toml`` -> validated steps, topological order, and the code hash of a step.

Every error names the file and the line, so a typo is one glance away from its fix.
"""

from __future__ import annotations

import difflib
import glob
import json
import os
import re
import shlex
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lineage import hashing
from lineage.errors import FileError, InvalidPipeline, LineageWarning, UsageError
from lineage.hashing import param_text as param_text  # importable from here, as before
from lineage.params import PARAM_FIELDS, PARAM_TYPES, ParamSpec, convert, type_of
from lineage.project import PIPELINE_FILE, read_config

__all__ = ["PARAM_TYPES", "ParamSpec", "Pipeline", "Step", "load_pipeline", "param_text"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

# Every name lineage.toml may use, in one place: a new field is one line here (a parameter's
# fields: lineage.params.PARAM_FIELDS). Anything else is a typo to name, with the closest of
# these, never a setting silently ignored.
TABLES = ("steps", "catalog", "store", "openlineage")
STEP_FIELDS = ("key", "time", "after", "command", "code", "params", "description")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")


@dataclass
class Step:
    """A step declared in ``lineage.toml``."""

    name: str
    key: str
    time: str
    command: str | None = None
    after: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    params: dict[str, ParamSpec] = field(default_factory=dict)
    description: str | None = None

    @property
    def time_option(self) -> str:
        return self.time.replace("_", "-")

    def resolve_params(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the declared parameters with defaults applied and types checked."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise UsageError(
                f"step {self.name!r} has no parameter {unknown[0]!r} (its parameters: {known})"
            )
        resolved: dict[str, Any] = {}
        for name, spec in self.params.items():
            if name in given:
                resolved[name] = spec.convert(given[name], f"step {self.name!r}")
            elif spec.default is not None:
                resolved[name] = spec.default
            else:
                raise UsageError(
                    f"step {self.name!r} needs parameter {name!r}: pass -P {name}=VALUE"
                )
        return resolved

    def render_command(self, value: str, params: dict[str, Any]) -> str:
        """Substitute ``{key}`` and ``{param}`` into the command, each shell-quoted."""
        if not self.command:
            raise UsageError(f"step {self.name!r} has no command in {PIPELINE_FILE}: add one")
        values = {self.key: value, **{k: param_text(v) for k, v in params.items()}}
        return _PLACEHOLDER.sub(lambda m: shlex.quote(str(values[m[1]])), self.command)


def params_hash(params: dict[str, Any]) -> str:
    """Return the hash of a step's resolved parameters, as the resolver compares them."""
    canonical = json.dumps(
        {k: param_text(v) for k, v in sorted(params.items())}, separators=(",", ":")
    )
    return hashing.hash_bytes(canonical.encode())


@dataclass
class Pipeline:
    """The steps of ``lineage.toml``, validated, in topological order."""

    path: Path
    steps: dict[str, Step]
    order: list[str]

    @property
    def root(self) -> Path:
        return self.path.parent

    def step(self, name: str) -> Step:
        """Return a declared step; an unknown name is a usage error listing the known ones."""
        try:
            return self.steps[name]
        except KeyError:
            known = ", ".join(self.order) or "none"
            raise UsageError(f"unknown step {name!r}: {self.path.name} declares {known}") from None

    def keys(self) -> dict[str, list[str]]:
        """Return each key name with the steps that use it, in pipeline order."""
        result: dict[str, list[str]] = {}
        for name in self.order:
            result.setdefault(self.steps[name].key, []).append(name)
        return result

    def roots(self) -> list[str]:
        return [name for name in self.order if not self.steps[name].after]

    def ancestors(self, name: str) -> list[str]:
        """Return ``name`` and every step upstream of it, in topological order."""
        wanted: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current not in wanted:
                wanted.add(current)
                pending.extend(self.steps[current].after)
        return [step for step in self.order if step in wanted]

    def code_files(self, name: str) -> list[str]:
        """Return a step's code files, relative to the project folder, sorted."""
        patterns = self.steps[name].code
        return _expand_code(self.root, patterns) if patterns else []

    def code_hash(self, name: str) -> str | None:
        """Return the xxh3-128 over a step's code files: sorted paths and their contents."""
        patterns = self.steps[name].code
        if not patterns:
            return None
        files = _expand_code(self.root, patterns)
        hasher = hashing.new_hasher()
        for relative in files:
            hasher.update(relative.encode() + b"\0")
            try:
                digest = _file_digest(self.root / relative)
            except OSError as error:
                raise FileError(
                    f"cannot read {relative!r}, a code file of step {name!r}: "
                    f"{error.strerror or error}: make it readable, or take it out of code in "
                    f"{PIPELINE_FILE}"
                ) from None
            hasher.update(digest.encode())
            hasher.update(b"\0")
        return hashing.format_hash(hasher.hexdigest())


_parsed: dict[Path, tuple[tuple[int, int], Pipeline]] = {}


def load_pipeline(root: Path, *, lenient: bool = False) -> Pipeline | None:
    """Read and validate ``lineage.toml`` in ``root``; None when there is none.

    With ``lenient`` (commands that only read the catalog: runs, show, audit, graph), a broken
    file is a ``LineageWarning`` and None, so a typo in a step never hides what was recorded.
    A long-lived process (a notebook, a benchmark) parses the file again only when it changed.
    """
    path = root / PIPELINE_FILE
    try:
        stat = path.stat()
    except OSError:
        return None
    signature = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed.get(path)
    if cached is not None and cached[0] == signature:
        return cached[1]
    try:
        pipeline = parse_pipeline(path, read_config(path))
    except InvalidPipeline as error:
        if not lenient:
            raise
        warnings.warn(f"{error}; its steps are left out here", LineageWarning, stacklevel=2)
        return None
    _parsed[path] = (signature, pipeline)
    return pipeline


def parse_pipeline(path: Path, config: dict[str, Any]) -> Pipeline:
    """Validate a parsed ``lineage.toml``; every error names the file and line."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""

    def fail(message: str, step: str | None = None, key: str | None = None) -> InvalidPipeline:
        line = _line_of(text, step, key)
        where = f"{path.name}:{line}" if line else path.name
        return InvalidPipeline(f"{where}: {message}")

    for table in config:
        if table not in TABLES:
            line = _line_of_table(text, table)
            where = f"{path.name}:{line}" if line else path.name
            raise InvalidPipeline(
                f"{where}: unknown table {table!r}{_closest(table, TABLES, 'tables')}"
            )
    raw_steps = config.get("steps", {})
    if not isinstance(raw_steps, dict):
        raise fail("[steps] must be a table of steps, like [steps.load]")
    steps: dict[str, Step] = {}
    for name, raw in raw_steps.items():
        if not isinstance(raw, dict):
            raise fail(f"step {name!r} must be a table, like [steps.{name}]", name)
        if not _NAME.match(name):
            raise fail(f"step name {name!r} must be letters, digits, '_' or '-'", name)
        unknown = [f for f in raw if f not in STEP_FIELDS]
        if unknown:
            raise fail(
                f"step {name!r} has an unknown field {unknown[0]!r}"
                + _closest(unknown[0], STEP_FIELDS, "fields"),
                name,
                unknown[0],
            )
        key = raw.get("key")
        if not isinstance(key, str) or not _NAME.match(key):
            raise fail(f'step {name!r} needs a key, such as key = "table"', name, "key")
        time_name = raw.get("time", f"{name}_time")
        if not isinstance(time_name, str) or not _NAME.match(time_name):
            raise fail(
                f'step {name!r}: time must be a name, such as "retrieval_time"', name, "time"
            )
        command = raw.get("command")
        if command is not None and (not isinstance(command, str) or not command.strip()):
            raise fail(f"step {name!r}: command must be a non-empty string", name, "command")
        after = raw.get("after", [])
        if isinstance(after, str):
            after = [after]
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            raise fail(f"step {name!r}: after must be a list of step names", name, "after")
        code = raw.get("code", [])
        if isinstance(code, str):
            code = [code]
        if not isinstance(code, list) or not all(isinstance(c, str) for c in code):
            raise fail(f"step {name!r}: code must be a list of files or globs", name, "code")
        for pattern in code:
            posix = PurePosixPath(pattern.replace("\\", "/"))
            if posix.is_absolute() or pattern.startswith("~") or ".." in posix.parts:
                why = "is absolute" if posix.is_absolute() else "leaves the project"
                raise fail(
                    f"step {name!r}: code path {pattern!r} {why}: name files inside the "
                    f"project, relative to the project folder (such as steps/{name}.py)",
                    name,
                    "code",
                )
        params = _parse_params(name, raw.get("params", {}), fail)
        steps[name] = Step(
            name=name,
            key=key,
            time=time_name,
            command=command,
            after=list(after),
            code=list(code),
            params=params,
            description=raw.get("description"),
        )
    for step in steps.values():
        for upstream in step.after:
            if upstream not in steps:
                known = ", ".join(steps) or "none"
                raise fail(
                    f"step {step.name!r} comes after {upstream!r}, which is not a step "
                    f"(steps: {known})",
                    step.name,
                    "after",
                )
        if step.command:
            for placeholder in _PLACEHOLDER.findall(step.command):
                if placeholder != step.key and placeholder not in step.params:
                    raise fail(
                        f"step {step.name!r}: command uses {{{placeholder}}}, which is neither "
                        f"its key nor a parameter: declare it in params",
                        step.name,
                        "command",
                    )
    order = _topological(steps, fail)
    _check_names(steps, fail)
    return Pipeline(path=path, steps=steps, order=order)


def _parse_params(step: str, raw: Any, fail: Any) -> dict[str, ParamSpec]:
    if not isinstance(raw, dict):
        raise fail(f"step {step!r}: params must be a table", step, "params")
    specs: dict[str, ParamSpec] = {}
    for name, spec in raw.items():
        if not _NAME.match(name):
            raise fail(f"step {step!r}: parameter name {name!r} is not a name", step, "params")
        if not isinstance(spec, dict):
            # A bare default: C = 1.0 means a float parameter with that default.
            spec = {"type": type_of(spec), "default": spec}
        unknown = [f for f in spec if f not in PARAM_FIELDS]
        if unknown:
            raise fail(
                f"step {step!r}: parameter {name!r} has an unknown field {unknown[0]!r}"
                + _closest(unknown[0], PARAM_FIELDS, "fields"),
                step,
                unknown[0],
            )
        kind = spec.get("type", "string")
        if kind not in PARAM_TYPES:
            raise fail(
                f"step {step!r}: parameter {name!r} has type {kind!r}; use one of "
                f"{', '.join(PARAM_TYPES)}",
                step,
                "params",
            )
        default = spec.get("default")
        if default is not None:
            try:
                default = convert(kind, default)
            except (TypeError, ValueError):
                raise fail(
                    f"step {step!r}: default {default!r} of parameter {name!r} is not a {kind}",
                    step,
                    "params",
                ) from None
        specs[name] = ParamSpec(name, kind, default, default is None)
    return specs


def _check_names(steps: dict[str, Step], fail: Any) -> None:
    # Keys and time names become CLI options, so one name must mean one thing.
    times_ = {s.time: s.name for s in steps.values()}
    for step in steps.values():
        if step.key in times_:
            raise fail(
                f"step {step.name!r}: key {step.key!r} is also the time name of step "
                f"{times_[step.key]!r}",
                step.name,
                "key",
            )
    # --target-env and --target_env are one option: two names that differ only there would
    # silently become one.
    seen: dict[str, tuple[str, str, str]] = {}
    for step in steps.values():
        for kind, name in (("key", step.key), ("time", step.time)):
            spelled = option_name(name)
            other = seen.setdefault(spelled, (name, kind, step.name))
            if other[0] != name:
                what = "key" if other[1] == "key" else "time name"
                raise fail(
                    f"step {step.name!r}: {kind} {name!r} and the {what} {other[0]!r} of step "
                    f"{other[2]!r} differ only by '-' and '_', so both would be the option "
                    f"--{spelled}: rename one",
                    step.name,
                    kind,
                )


def option_name(name: str) -> str:
    """Return the command-line option a key or time name becomes (without the dashes)."""
    return name.replace("_", "-")


def _closest(name: str, valid: tuple[str, ...], what: str) -> str:
    """Suggest the valid name closest to a misspelled one, or list them all."""
    close = difflib.get_close_matches(name, valid, n=1)
    if close:
        return f": did you mean {close[0]!r}?"
    return f" ({what}: {', '.join(sorted(valid))})"


def _topological(steps: dict[str, Step], fail: Any) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise fail(f"the steps form a cycle: {cycle}", name, "after")
        state[name] = 1
        for upstream in steps[name].after:
            visit(upstream, [*path, name])
        state[name] = 2
        order.append(name)

    for name in steps:
        visit(name, [])
    return order


def _expand_code(root: Path, patterns: list[str]) -> list[str]:
    found: set[str] = set()
    for pattern in patterns:
        full = root / pattern
        if full.is_dir():
            matches = [p for p in full.rglob("*") if p.is_file()]
        else:
            matches = [Path(p) for p in glob.glob(str(full), recursive=True) if os.path.isfile(p)]
        if not matches:
            raise InvalidPipeline(
                f"{PIPELINE_FILE}: code pattern {pattern!r} matches no file: fix the path"
            )
        for match in matches:
            relative = match.relative_to(root).as_posix()
            if "__pycache__" not in relative:
                found.add(relative)
    return sorted(found)


_digests: dict[Path, tuple[tuple[int, int, int], str]] = {}


def _file_digest(path: Path) -> str:
    """Return a file's content hash, re-reading it only when its size or times changed."""
    stat = path.stat()
    signature = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size)
    cached = _digests.get(path)
    if cached is not None and cached[0] == signature:
        return cached[1]
    digest, _ = hashing.hash_file(str(path))
    _digests[path] = (signature, digest)
    return digest


def _line_of(text: str, step: str | None, key: str | None) -> int | None:
    """Return the line of ``key`` in the tables of ``step`` (or of its header), 1-based."""
    if not text or step is None:
        return None
    lines = text.splitlines()
    # [steps.train] and the tables inside it, such as [steps.train.params.C].
    header = re.compile(rf"^\s*\[\s*steps\s*\.\s*[\"']?{re.escape(step)}[\"']?\s*[.\]]")
    # At a line's start, or inside an inline table: params = {{ C = {{ defualt = 1 }} }}.
    field_re = re.compile(rf"(^\s*|[{{,]\s*)[\"']?{re.escape(key or '')}[\"']?\s*=")
    start = None
    inside = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("["):
            inside = header.match(line) is not None
            if inside and start is None:
                start = i
            continue
        if inside and key and field_re.search(line):
            return i + 1
    return None if start is None else start + 1


def _line_of_table(text: str, table: str) -> int | None:
    """Return the line where a top-level table (``[name]``, ``[name.x]``, ``name = ``) starts."""
    pattern = re.compile(
        rf"^\s*(\[\[?\s*[\"']?{re.escape(table)}[\"']?\s*[.\]]|{re.escape(table)}\s*[.=])"
    )
    for i, line in enumerate(text.splitlines()):
        if pattern.match(line):
            return i + 1
    return None
