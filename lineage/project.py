"""Find the project root and ``lineage.toml``; settle the catalog and store URLs by precedence.

Precedence: command-line option > environment variable > ``lineage.toml`` > default.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage.errors import InvalidPipeline, UsageError
from lineage.urls import mask_url as mask_url  # importable from here, as before

PIPELINE_FILE = "lineage.toml"
STATE_DIR = ".lineage"
CATALOG_ENV = "LINEAGE_CATALOG_URL"
STORE_ENV = "LINEAGE_STORE_URL"
PROJECT_ENV = "LINEAGE_PROJECT_ROOT"
# Set by the launcher for the step it starts: the run the step's start_run() attaches to.
RUN_ID_ENV = "LINEAGE_RUN_ID"


@dataclass
class Project:
    """Where a project lives and which catalog and store it uses."""

    root: Path
    catalog_url: str
    store_url: str
    config: dict[str, Any] = field(default_factory=dict)
    store_options: dict[str, Any] = field(default_factory=dict)
    # Why lineage.toml could not be read, when it names no catalog or store: commands that only
    # read the catalog still work; those that need the steps report it (lineage.pipeline).
    config_error: str | None = None

    @property
    def pipeline_file(self) -> Path:
        return self.root / PIPELINE_FILE

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR


def find_root(start: Path | None = None) -> Path | None:
    """Return the nearest folder at or above ``start`` holding lineage.toml or .lineage/."""
    if os.environ.get(PROJECT_ENV):
        return Path(os.environ[PROJECT_ENV]).resolve()
    # os.getcwd() is already absolute and free of symlinks; resolving it again and walking with
    # pathlib cost more than the rest of start_run's bookkeeping (benchmarks/bench_logging.py).
    here = str(start.resolve()) if start is not None else os.getcwd()
    while True:
        pipeline_file = os.path.join(here, PIPELINE_FILE)
        if os.path.isfile(pipeline_file) or os.path.isdir(os.path.join(here, STATE_DIR)):
            return Path(here)
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def read_config(path: Path) -> dict[str, Any]:
    """Read ``lineage.toml``; a syntax error names the file and line."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidPipeline(f"cannot read {path}: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InvalidPipeline(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}): "
            "save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidPipeline(f"{path}: {error}: fix the TOML syntax") from None
    except RecursionError:
        # tomllib recurses once per nesting level; a thousand brackets exhaust the stack.
        raise InvalidPipeline(
            f"{path}: arrays or tables nested too deeply to read: flatten them"
        ) from None


# A [catalog] or [store] table, or a dotted catalog.url / store.url key.
_SETTINGS_LINE = re.compile(rb"^\s*(\[\s*[\"']?(catalog|store)\b|(catalog|store)\s*[.=])", re.M)


def _read_settings(path: Path) -> tuple[dict[str, Any], str | None]:
    """Read lineage.toml for the catalog and store; return the config and why it is unread.

    A broken file that names no catalog or store cannot change which ones are used, so the
    commands that only read the catalog go on without its steps. One that does is an error:
    guessing the default catalog there could show another project's runs.
    """
    try:
        return read_config(path), None
    except InvalidPipeline as error:
        try:
            names_settings = _SETTINGS_LINE.search(path.read_bytes()) is not None
        except OSError:
            names_settings = True
        if names_settings:
            raise
        return {}, str(error)


def load_project(
    catalog: str | None = None,
    store: str | None = None,
    start: Path | None = None,
    *,
    required: bool = True,
) -> Project:
    """Find the project around ``start`` and settle its catalog and store URLs.

    With ``required`` and no project found (and no catalog URL given), raise a usage error that
    says to run ``lineage init``; without it, the current folder becomes the root.
    """
    root = find_root(start)
    if root is None:
        if required and not (catalog or os.environ.get(CATALOG_ENV)):
            raise UsageError(
                "no lineage project here (no lineage.toml or .lineage/ in this folder or its "
                "parents): run `lineage init` first"
            )
        root = (start or Path.cwd()).resolve()
    config: dict[str, Any] = {}
    config_error = None
    if (root / PIPELINE_FILE).is_file():
        config, config_error = _read_settings(root / PIPELINE_FILE)
    catalog_section = _section(config, "catalog")
    store_section = _section(config, "store")
    catalog_url = (
        catalog
        or os.environ.get(CATALOG_ENV)
        or catalog_section.get("url")
        or f"sqlite:///{root / STATE_DIR / 'catalog.db'}"
    )
    store_url = (
        store
        or os.environ.get(STORE_ENV)
        or store_section.get("url")
        or str(root / STATE_DIR / "objects")
    )
    for name, url in (("catalog", catalog_url), ("store", store_url)):
        if not isinstance(url, str) or not url.strip():
            raise InvalidPipeline(
                f"{PIPELINE_FILE}: [{name}] url must be a non-empty string, such as "
                f'url = "{_EXAMPLE_URLS[name]}"'
            )
    options = {k: v for k, v in store_section.items() if k != "url"}
    part_size = options.get("part_size")
    if part_size is not None and (
        isinstance(part_size, bool) or not isinstance(part_size, int) or part_size < MIN_PART_SIZE
    ):
        raise InvalidPipeline(
            f"{PIPELINE_FILE}: [store] part_size must be a number of bytes of at least "
            f"{MIN_PART_SIZE} (5 MiB, the least S3 takes), not {part_size!r}"
        )
    return Project(root, catalog_url, store_url, config, options, config_error)


# S3 refuses multipart parts under 5 MiB (but the last).
MIN_PART_SIZE = 5 * 1024 * 1024


_EXAMPLE_URLS = {"catalog": "postgresql+psycopg://host/lineage", "store": "s3://bucket/prefix"}


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    section = config.get(name, {})
    if not isinstance(section, dict):
        raise InvalidPipeline(f"{PIPELINE_FILE}: [{name}] must be a table, like [{name}] url = ...")
    return section
