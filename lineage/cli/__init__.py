"""The ``lineage`` command: thin click commands over ``lineage.api``; the only code that prints.

Each command parses, calls one library function, and renders: aligned tables for people,
``--json`` (one document on stdout) for scripts. Errors are ``LineageError``s turned into one
``Error: ...`` line and their exit code in ``main``; no traceback reaches the user unless
``--debug`` asks for it.

* ``group``: the root group, its shared options, and ``main`` (error translation);
* ``options``: ``--json``, the ``--KEY VALUE`` options from lineage.toml, progress bars;
* ``render``, ``render_walks``: tables, sizes, hashes and one view per result;
* the commands by topic: ``project`` (init, info), ``runs`` (runs, show, artifacts),
  ``resolve`` (resolve, run), ``walks`` (audit, impact, graph), ``upkeep`` (verify, rm, gc, db),
  ``ui`` (the web UI), ``interchange`` (export openlineage, import mlflow).
"""

from __future__ import annotations

# Importing a command module registers its commands on the group.
from lineage.cli import interchange, project, resolve, runs, ui, upkeep, walks  # noqa: F401
from lineage.cli.group import cli, main
from lineage.cli.render import echo_json, echo_table, human_size

__all__ = ["cli", "echo_json", "echo_table", "human_size", "main"]
