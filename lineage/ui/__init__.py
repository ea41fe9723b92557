"""The read-only web UI (``lineage ui``): runs, data versions, lineage graphs, comparisons, plans.

A face over ``lineage.api`` and the library below it, like the CLI: server-rendered HTML that
works without JavaScript, every page with a JSON twin (``.json`` or ``Accept:
application/json``), and nothing that writes.
"""

from __future__ import annotations

from lineage.ui.app import create_app
from lineage.ui.server import serve

__all__ = ["create_app", "serve"]
