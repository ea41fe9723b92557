"""Delete runs from the catalog: their params, metrics, tags, edges and the run itself.

A run other runs depend on (they list it as upstream, or consumed its outputs) is kept unless
the removal cascades to them too: deleting it alone would leave their lineage pointing at
nothing. The objects of removed runs stay in the store until ``lineage gc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineage.catalog import Catalog, RunInfo
from lineage.errors import HasDependents, Refused


@dataclass
class RemovePlan:
    """The runs one ``rm`` removes: the run named, then the runs that depend on it."""

    target: RunInfo
    runs: list[RunInfo]

    @property
    def dependents(self) -> list[RunInfo]:
        return [r for r in self.runs if r.id != self.target.id]

    def to_dict(self) -> dict[str, Any]:
        return {"runs": [{"run_id": r.id, "ref": r.ref, "status": r.status} for r in self.runs]}


def plan_remove(catalog: Catalog, ref: str, *, cascade: bool = False) -> RemovePlan:
    """Return what removing the run ``ref`` takes; refuse when others depend on it."""
    from lineage import liveness

    liveness.reap(catalog)
    target = catalog.resolve(ref)
    ids = catalog.dependents_closure([target.id])
    runs = catalog.get_runs(ids, details=False)
    plan = RemovePlan(target, runs)
    if plan.dependents and not cascade:
        listed = ", ".join(f"{r.short_id} ({r.label})" for r in plan.dependents[:5])
        more = f" and {len(plan.dependents) - 5} more" if len(plan.dependents) > 5 else ""
        verb = "depends" if len(plan.dependents) == 1 else "depend"
        raise HasDependents(
            f"cannot remove {target.label}: {listed}{more} {verb} on it",
            first="it" if len(plan.dependents) == 1 else "those",
        )
    running = [r for r in runs if r.status == "running"]
    if running:
        run = running[0]
        raise Refused(
            f"cannot remove {run.label}: it is still running (pid {run.pid} on {run.host}); "
            "wait for it to end or stop it first"
        )
    return plan


def remove(catalog: Catalog, plan: RemovePlan) -> int:
    """Delete the runs of a plan in one transaction; return how many were deleted."""
    return catalog.delete_runs([r.id for r in plan.runs])
