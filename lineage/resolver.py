"""The chain resolver: find the newest coherent chain of runs; launch only what is missing.

The rules (README.md, "The pipeline file and the resolver", says them for users):

1. Anchor each root step on its newest finished run of the key value (or the one pinned by its
   time option); none, or ``--rerun``: launch it.
2. Walk down in topological order. A step's candidates are its finished runs with the same key
   value, the same resolved params and the current code hash (unless stale code is allowed)
   that are coherent with the chosen upstream runs *by content hash*: everything a candidate
   consumed from an upstream step hashes to one of that upstream run's outputs; a candidate
   that consumed nothing from it must have recorded that exact upstream run. Take the newest;
   none: launch.

A node of the chain is one (step, key value); a step given several values (``--table a,b``)
has one node per value, and every node of a step depends on every node of its ``after`` steps.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from lineage import refs, times
from lineage.catalog import ClaimRecord, Edges, RunInfo
from lineage.errors import NoChain, StepFailed, UsageError
from lineage.names import match_key
from lineage.pipeline import Pipeline, Step, load_pipeline, params_hash
from lineage.session import Session

Node = tuple[str, str]  # (step, key value)
# What the resolver did for a node (reused, launched, missing, failed; a dry run says reuse or
# launch) or, in an event only, what it is doing: waiting for another process, launching.
Action = Literal[
    "reused", "launched", "missing", "failed", "reuse", "launch", "waiting", "launching"
]
Event = Callable[[Action, "Link"], None]
ANCHOR_LIMIT = 100
COMBINATION_LIMIT = 1000
PAGE = 50


@dataclass
class Link:
    """One node of a chain: what the resolver chose or did for (step, key value)."""

    step: str
    key: str
    value: str
    action: Action
    run: RunInfo | None = None
    reason: str = ""

    @property
    def ref(self) -> str:
        return self.run.label if self.run else f"{self.step}:{self.value}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "key": self.key,
            "value": self.value,
            "time": times.format_precise(self.run.time) if self.run else None,
            "run_id": self.run.id if self.run else None,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class Chain:
    """The resolved chain, root steps first."""

    links: list[Link]
    dry_run: bool = False
    failure: str | None = None

    @property
    def complete(self) -> bool:
        return all(link.action in ("reused", "launched", "reuse", "launch") for link in self.links)

    def to_dict(self) -> dict[str, Any]:
        return {"chain": [link.to_dict() for link in self.links]}

    def run_ids(self) -> list[str]:
        return [link.run.id for link in self.links if link.run]


@dataclass
class Plan:
    """Everything settled before the walk: nodes, params, code hashes, pins."""

    pipeline: Pipeline
    values: dict[str, list[str]]
    order: list[Node]
    params: dict[str, dict[str, Any]]
    params_hashes: dict[str, str | None]
    code_hashes: dict[str, str | None]
    windows: dict[str, times.Window]
    rerun: set[str]
    allow_stale_code: bool

    def upstream_nodes(self, node: Node) -> list[Node]:
        step = self.pipeline.steps[node[0]]
        return [(a, v) for a in step.after for v in self.values[a]]


@dataclass
class _State:
    chosen: dict[Node, RunInfo] = field(default_factory=dict)
    links: dict[Node, Link] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def plan(
    session: Session,
    keys: dict[str, str],
    *,
    params: Sequence[str] = (),
    pins: dict[str, str] | None = None,
    rerun: Sequence[str] = (),
    allow_stale_code: bool = False,
) -> Plan:
    """Check the request against ``lineage.toml`` and settle what the walk needs."""
    pipeline = load_pipeline(session.project.root)
    if pipeline is None or not pipeline.steps:
        raise UsageError(
            f"no steps in {session.project.pipeline_file}: resolve needs a pipeline file; "
            "`lineage init --example` writes one to start from"
        )
    declared = pipeline.keys()
    keys = {match_key(key, declared): value for key, value in keys.items()}
    for key in keys:
        if key not in declared:
            raise UsageError(
                f"unknown key {key!r}: {pipeline.path.name} declares "
                f"{', '.join('--' + k for k in declared)}"
            )
    targets = [name for name in pipeline.order if pipeline.steps[name].key in keys]
    if not targets:
        options = " ".join(f"--{k} VALUE" for k in declared)
        raise UsageError(f"say which chain to resolve: give at least one key ({options})")
    wanted: set[str] = set()
    for target in targets:
        wanted.update(pipeline.ancestors(target))
    steps = [name for name in pipeline.order if name in wanted]
    values: dict[str, list[str]] = {}
    for name in steps:
        spec = pipeline.steps[name]
        raw = keys.get(spec.key)
        if raw is None:
            raise UsageError(
                f"step {name!r} is in the chain but its key has no value: give --{spec.key} VALUE"
            )
        split = [v.strip() for v in raw.split(",") if v.strip()]
        if not split:
            raise UsageError(f"--{spec.key} needs a value, such as --{spec.key} transactions")
        for value in split:
            refs.check_key_value(spec.key, value)
        values[name] = list(dict.fromkeys(split))
    step_params = _assign_params(pipeline, steps, params)
    windows: dict[str, times.Window] = {}
    time_names = {pipeline.steps[n].time: n for n in steps}
    for time_name, text in (pins or {}).items():
        pinned = time_names.get(time_name.replace("-", "_"))
        if pinned is None:
            known = ", ".join("--" + t.replace("_", "-") for t in time_names)
            raise UsageError(f"unknown time option --{time_name}: this chain takes {known}")
        windows[pinned] = times.parse_window(text)
    for name in rerun:
        if name not in wanted:
            raise UsageError(
                f"--rerun {name}: step {name!r} is not in this chain ({', '.join(steps)})"
            )
    resolved = {name: pipeline.steps[name].resolve_params(step_params[name]) for name in steps}
    return Plan(
        pipeline=pipeline,
        values=values,
        order=[(name, value) for name in steps for value in values[name]],
        params=resolved,
        params_hashes={
            name: params_hash(resolved[name]) if pipeline.steps[name].params else None
            for name in steps
        },
        code_hashes={name: pipeline.code_hash(name) for name in steps},
        windows=windows,
        rerun=set(rerun),
        allow_stale_code=allow_stale_code,
    )


def _assign_params(
    pipeline: Pipeline, steps: list[str], given: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Spread ``-P k=v`` / ``-P step.k=v`` over the steps of the chain that declare ``k``."""
    result: dict[str, dict[str, str]] = {name: {} for name in steps}
    for text in given:
        name, eq, value = text.partition("=")
        if not eq or not name:
            raise UsageError(f"parameter {text!r} is not NAME=VALUE: use -P C=0.5")
        step_name, dot, param = name.rpartition(".")
        if dot:
            if step_name not in result:
                raise UsageError(f"-P {text}: step {step_name!r} is not in this chain")
            targets = [step_name]
        else:
            param = name
            targets = [s for s in steps if param in pipeline.steps[s].params]
        if not targets or any(param not in pipeline.steps[s].params for s in targets):
            declared = sorted({p for s in steps for p in pipeline.steps[s].params})
            raise UsageError(
                f"no step in this chain has a parameter {param!r} "
                f"(parameters: {', '.join(declared) or 'none'})"
            )
        for target in targets:
            result[target][param] = value
    return result


def resolve(
    session: Session,
    keys: dict[str, str],
    *,
    params: Sequence[str] = (),
    pins: dict[str, str] | None = None,
    rerun: Sequence[str] = (),
    allow_stale_code: bool = False,
    dry_run: bool = False,
    no_launch: bool = False,
    jobs: int = 1,
    on_output: Callable[[str, str], None] | None = None,
    on_event: Event | None = None,
) -> Chain:
    """Resolve the chain for ``keys``; launch missing steps unless told not to.

    Raises StepFailed when a launched step fails and NoChain when ``no_launch`` finds no whole
    chain; either carries the chain as far as it got in its ``chain`` attribute.
    """
    if jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    the_plan = plan(
        session, keys, params=params, pins=pins, rerun=rerun, allow_stale_code=allow_stale_code
    )
    if no_launch:
        return _newest_whole_chain(session, the_plan)
    walker = _Walker(session, the_plan, dry_run=dry_run, on_output=on_output, on_event=on_event)
    # Every run this resolve launches carries its id: OpenLineage's parent run.
    walker.resolve_id = uuid.uuid4().hex
    chain = walker.walk(jobs)
    if chain.failure:
        error = StepFailed(chain.failure)
        error.chain = chain  # type: ignore[attr-defined]
        raise error
    return chain


class _Walker:
    """One walk down the chain, deciding (and launching) node by node."""

    def __init__(
        self,
        session: Session,
        the_plan: Plan,
        *,
        dry_run: bool = False,
        launch: bool = True,
        anchors: dict[Node, RunInfo] | None = None,
        launch_only: set[str] | None = None,
        on_output: Callable[[str, str], None] | None = None,
        on_event: Event | None = None,
    ) -> None:
        self.session = session
        self.plan = the_plan
        self.dry_run = dry_run
        self.launch = launch
        self.fixed_anchors = anchors or {}
        self.launch_only = launch_only
        self.on_output = on_output
        self.on_event = on_event
        self.state = _State()
        self.failure: str | None = None
        self.resolve_id: str | None = None

    def walk(self, jobs: int = 1) -> Chain:
        order = self.plan.order
        if jobs == 1:
            for node in order:
                self._visit(node)
        else:
            self._walk_parallel(jobs)
        links = [self.state.links[node] for node in order]
        return Chain(links, dry_run=self.dry_run, failure=self.failure)

    def _walk_parallel(self, jobs: int) -> None:
        pending = list(self.plan.order)
        running: dict[Future[None], Node] = {}
        done: set[Node] = set()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            while pending or running:
                ready = [n for n in pending if all(u in done for u in self.plan.upstream_nodes(n))]
                for node in ready:
                    pending.remove(node)
                    running[pool.submit(self._visit, node)] = node
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    done.add(running.pop(future))
                    future.result()

    # -- one node -------------------------------------------------------------------------

    def _visit(self, node: Node) -> None:
        step_name, value = node
        spec = self.plan.pipeline.steps[step_name]
        upstream_nodes = self.plan.upstream_nodes(node)
        upstream_links = [self.state.links[u] for u in upstream_nodes]
        if any(link.action in ("failed", "missing") for link in upstream_links):
            self._settle(node, Link(step_name, spec.key, value, "missing", None, "upstream failed"))
            return
        if any(link.action == "launch" for link in upstream_links):
            # A dry run cannot know what an upstream launch will produce.
            self._settle(
                node, Link(step_name, spec.key, value, "launch", None, "upstream launches")
            )
            return
        upstream = {u: self.state.chosen[u] for u in upstream_nodes}
        run, reason = self._choose(spec, value, upstream)
        if run is not None:
            self._settle(node, Link(step_name, spec.key, value, self._reuse_word(), run))
            return
        if self.dry_run:
            self._settle(node, Link(step_name, spec.key, value, "launch", None, reason))
            return
        if not self.launch or (self.launch_only is not None and step_name not in self.launch_only):
            self._settle(node, Link(step_name, spec.key, value, "missing", None, reason))
            return
        self._launch(node, spec, upstream, reason)

    def _reuse_word(self) -> Action:
        return "reuse" if self.dry_run else "reused"

    def _settle(self, node: Node, link: Link) -> None:
        with self.state.lock:
            self.state.links[node] = link
            if link.run is not None:
                self.state.chosen[node] = link.run
        if self.on_event:
            self.on_event(link.action, link)

    def _choose(
        self, spec: Step, value: str, upstream: dict[Node, RunInfo]
    ) -> tuple[RunInfo | None, str]:
        """Return the run to reuse for (step, value), or None and why it must be launched."""
        with self.session.catalog.reading():
            return self._choose_in_snapshot(spec, value, upstream)

    def _choose_in_snapshot(
        self, spec: Step, value: str, upstream: dict[Node, RunInfo]
    ) -> tuple[RunInfo | None, str]:
        name = spec.name
        catalog = self.session.catalog
        if name in self.plan.rerun:
            return None, "--rerun"
        window = self.plan.windows.get(name)
        p_hash = self.plan.params_hashes[name]
        if not spec.after:
            fixed = self.fixed_anchors.get((name, value))
            if fixed is not None:
                return fixed, ""
            found = catalog.anchors(name, value, params_hash=p_hash, window=window)
            if found:
                return found[0], ""
            if window is not None:
                raise NoChain(
                    f"no finished {name}:{value} run in the pinned time "
                    f"{times.format_time(window.start)}: drop the pin or pick another time"
                )
            return None, "no run yet"
        code = None if self.plan.allow_stale_code else self.plan.code_hashes[name]
        upstream_outputs = catalog.output_hashes([run.id for run in upstream.values()])
        hashes = sorted({h for produced in upstream_outputs.values() for h in produced})
        upstream_ids = sorted(run.id for run in upstream.values())
        before: tuple[Any, str] | None = None
        while True:
            page = catalog.candidates(
                name,
                value,
                hashes=hashes,
                upstream_ids=upstream_ids,
                params_hash=p_hash,
                code_hash=code,
                window=window,
                before=before,
                limit=PAGE,
            )
            if not page:
                return None, self._why_launch(spec, value, p_hash, code)
            edges = catalog.edges([run.id for run in page])
            chosen = next(
                (r for r in page if is_coherent(edges[r.id], upstream, upstream_outputs)), None
            )
            if chosen is not None:
                return chosen, ""
            if len(page) < PAGE:
                return None, self._why_launch(spec, value, p_hash, code)
            before = (page[-1].time, page[-1].id)

    def _why_launch(self, spec: Step, value: str, p_hash: str | None, code: str | None) -> str:
        catalog = self.session.catalog
        newest = catalog.newest(spec.name, value)
        if newest is None:
            return "no run yet"
        if code is not None and newest.code_hash != code:
            return "code changed"
        if p_hash is not None and newest.params_hash != p_hash:
            return "params changed"
        return "new input data"

    def _launch(self, node: Node, spec: Step, upstream: dict[Node, RunInfo], reason: str) -> None:
        from lineage import claims, launch

        name, value = node
        catalog = self.session.catalog
        produced = catalog.output_hashes([r.id for r in upstream.values()])
        inputs = sorted({h for hashes in produced.values() for h in hashes})
        key = claims.claim_key(
            name, value, self.plan.params_hashes[name], self.plan.code_hashes[name], inputs
        )
        holder = claims.Holder(catalog)
        label = f"{name}:{value}"
        while not holder.try_claim(key, label):
            # Another resolver is launching exactly this: wait for it, then decide again,
            # which reuses its run when it finished.
            def tell(claim: ClaimRecord) -> None:
                if self.on_event:
                    waiting = Link(name, spec.key, value, "waiting", None, f"pid {claim['pid']}")
                    self.on_event("waiting", waiting)

            holder.wait(key, tell)
            run, reason = self._choose(spec, value, upstream)
            if run is not None:
                self._settle(node, Link(name, spec.key, value, "reused", run))
                return
        with holder.holding(key) as record:
            run = launch.create_run(
                self.session,
                self.plan.pipeline,
                name,
                value,
                self.plan.params[name],
                [r.id for r in upstream.values()],
                self.plan.code_hashes[name],
                resolve_id=self.resolve_id,
            )
            record(run.id)
            if self.on_event:
                self.on_event("launching", Link(name, spec.key, value, "launching", run, reason))
            result = launch.execute(self.session, run, self.on_output)
        if result.ok:
            self._settle(node, Link(name, spec.key, value, "launched", result.run, reason))
        else:
            with self.state.lock:
                if self.failure is None:
                    self.failure = launch.failure_message(result)
            self._settle(node, Link(name, spec.key, value, "failed", result.run, reason))


def is_coherent(
    edges: Edges,
    upstream: dict[Node, RunInfo],
    upstream_outputs: dict[str, set[str]],
) -> bool:
    """Return whether a candidate (its ``edges``) fits the chosen upstream runs.

    Everything it consumed from an upstream node must hash to one of the chosen run's outputs;
    where it consumed nothing from a node it must have recorded that exact run; and it must
    have been made from no run outside the chain's upstream nodes.
    """
    if any(identity not in upstream for identity in edges.upstream.values()):
        return False
    for node, chosen in upstream.items():
        consumed = [h for h, _, source in edges.inputs if source == node]
        if consumed:
            if not all(h in upstream_outputs[chosen.id] for h in consumed):
                return False
        elif chosen.id not in edges.upstream:
            return False
    return True


def run_step(
    session: Session,
    step: str,
    keys: dict[str, str],
    *,
    params: Sequence[str] = (),
    on_output: Callable[[str, str], None] | None = None,
    on_event: Event | None = None,
) -> RunInfo:
    """Launch one step now on the newest coherent chain of its ancestors; return its run."""
    pipeline = load_pipeline(session.project.root)
    if pipeline is None or not pipeline.steps:
        raise UsageError(
            f"no steps in {session.project.pipeline_file}: `lineage run` needs a pipeline file"
        )
    spec = pipeline.step(step)
    keys = {match_key(key, pipeline.keys()): value for key, value in keys.items()}
    wanted = pipeline.ancestors(step)
    own_keys = {pipeline.steps[name].key for name in wanted}
    extra = sorted(set(keys) - own_keys)
    if extra:
        raise UsageError(
            f"--{extra[0]} is not a key of step {step!r} or its upstream steps "
            f"({', '.join('--' + k for k in sorted(own_keys))})"
        )
    if spec.key not in keys:
        raise UsageError(f"say which {step} to run: give --{spec.key} VALUE")
    the_plan = plan(session, keys, params=params, rerun=[step])
    walker = _Walker(session, the_plan, launch_only={step}, on_output=on_output, on_event=on_event)
    chain = walker.walk()
    missing = [link.ref for link in chain.links if link.action == "missing"]
    if missing:
        raise NoChain(
            f"cannot run {step}: no coherent upstream run for {', '.join(missing)}; "
            "`lineage resolve` launches the missing steps"
        )
    if chain.failure:
        raise StepFailed(chain.failure)
    return next(link.run for link in chain.links if link.step == step and link.run)


def _newest_whole_chain(session: Session, the_plan: Plan) -> Chain:
    """Walk back through older anchors until a chain exists whole; launch nothing."""
    roots = [node for node in the_plan.order if not the_plan.pipeline.steps[node[0]].after]
    options: list[list[RunInfo]] = []
    first_attempt: Chain | None = None
    for step_name, value in roots:
        if step_name in the_plan.rerun:
            raise UsageError("--rerun launches a step: it cannot be combined with --no-launch")
        found = session.catalog.anchors(
            step_name,
            value,
            params_hash=the_plan.params_hashes[step_name],
            window=the_plan.windows.get(step_name),
            limit=ANCHOR_LIMIT,
        )
        options.append(found)
    if all(options):
        combos = sorted(
            itertools.islice(
                itertools.product(*[range(len(o)) for o in options]), COMBINATION_LIMIT
            ),
            key=lambda ranks: (sum(ranks), ranks),
        )
        for ranks in combos:
            anchors = {
                root: options[i][r] for i, (root, r) in enumerate(zip(roots, ranks, strict=True))
            }
            walker = _Walker(session, the_plan, launch=False, anchors=anchors)
            chain = walker.walk()
            if chain.complete:
                return chain
            first_attempt = first_attempt or chain
    if first_attempt is None:
        first_attempt = _Walker(session, the_plan, launch=False).walk()
    missing = [link.ref for link in first_attempt.links if link.action == "missing"]
    error = NoChain(
        f"no whole chain exists ({', '.join(missing)} missing): resolve without --no-launch "
        "to launch what is missing"
    )
    error.chain = first_attempt  # type: ignore[attr-defined]
    raise error
