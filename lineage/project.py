"""Find the project root and ``lineage.toml``; settle the catalog and store URLs by precedence.

Precedence: command-line option > environment variable > ``lineage.toml`` > default.
"""

from __future__ import annotations

import os
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
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise InvalidPipeline(f"{path}: {error}: fix the TOML syntax") from None
    except OSError as error:
        raise InvalidPipeline(f"cannot read {path}: {error.strerror}") from None


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
    if (root / PIPELINE_FILE).is_file():
        config = read_config(root / PIPELINE_FILE)
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
    return Project(root, catalog_url, store_url, config, options)


_EXAMPLE_URLS = {"catalog": "postgresql+psycopg://host/lineage", "store": "s3://bucket/prefix"}


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    section = config.get(name, {})
    if not isinstance(section, dict):
        raise InvalidPipeline(f"{PIPELINE_FILE}: [{name}] must be a table, like [{name}] url = ...")
    return section
