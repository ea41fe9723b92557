"""Draw the lineage graph around a run or an artifact, or the catalog's steps: text, mermaid, dot.

The runs come from the walks (``lineage.walks``): the upstream and the downstream closure of
the starting point, each one recursive query. Drawing is plain string building, so the same
graph renders as an indented tree for a terminal, a mermaid flowchart for a README, or a
graphviz digraph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lineage.catalog import ArtifactInfo, Catalog, RunInfo
from lineage.errors import UsageError
from lineage.walks import Lineage, find_target, load_lineage

FORMATS = ("text", "mermaid", "dot")


@dataclass
class Node:
    """A run, an artifact or a step in a drawn graph."""

    id: str
    kind: Literal["run", "artifact", "step"]
    label: str
    detail: str = ""
    focus: bool = False


@dataclass
class Edge:
    """A drawn edge, labelled with the output, input or relation it stands for."""

    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass
class Graph:
    """Nodes and labelled edges, renderable as an indented tree, mermaid or dot."""

    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    _edge_keys: set[tuple[str, str, str]] = field(default_factory=set, repr=False)

    def add_node(self, node: Node) -> None:
        self.nodes.setdefault(node.id, node)

    def add_edge(self, edge: Edge) -> None:
        key = (edge.source, edge.target, edge.label)
        if key not in self._edge_keys:
            self._edge_keys.add(key)
            self.edges.append(edge)

    def render(self, fmt: str = "text") -> str:
        """Return the graph as ``text`` (an indented tree), ``mermaid`` or ``dot``."""
        if fmt == "text":
            return to_text(self)
        if fmt == "mermaid":
            return to_mermaid(self)
        if fmt == "dot":
            return to_dot(self)
        raise UsageError(f"unknown graph format {fmt!r}: use one of {', '.join(FORMATS)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "nodes": [
                {"id": n.id, "kind": n.kind, "label": n.label, "detail": n.detail, "focus": n.focus}
                for n in self.nodes.values()
            ],
            "edges": [
                {"source": e.source, "target": e.target, "label": e.label, "dashed": e.dashed}
                for e in self.edges
            ],
        }


def lineage_graph(catalog: Catalog, ref: str) -> Graph:
    """Draw the runs and artifacts upstream and downstream of a run or an artifact."""
    target = find_target(catalog, ref)
    if isinstance(target, RunInfo):
        up = catalog.upstream_closure([target.id])
        down = catalog.downstream_closure([target.id])
        title = f"lineage of {target.label}"
    else:
        up = catalog.upstream_closure(catalog.producers([target.hash]))
        down = catalog.downstream_closure([], [target.hash])
        title = f"lineage of {target.hash}"
    result = run_graph(load_lineage(catalog, [*up, *down]), title)
    focus = _run_node(target.id) if isinstance(target, RunInfo) else _artifact_node(target.hash)
    if focus in result.nodes:
        result.nodes[focus].focus = True
    elif isinstance(target, ArtifactInfo):
        result.add_node(_artifact_as_node(target, focus=True))
    return result


def run_graph(lineage: Lineage, title: str) -> Graph:
    """Draw runs and artifacts as nodes; outputs, inputs and bare upstream edges as edges."""
    result = Graph(title)
    order = lineage.order()
    for run_id in order:
        run = lineage.runs[run_id]
        result.add_node(Node(_run_node(run_id), "run", run.label, f"{run.short_id} {run.status}"))
    for run_id in order:
        for artifact in lineage.outputs.get(run_id, []):
            result.add_node(_artifact_as_node(artifact))
            result.add_edge(Edge(_run_node(run_id), _artifact_node(artifact.hash), artifact.name))
    for run_id in order:
        for artifact in lineage.inputs.get(run_id, []):
            result.add_node(_artifact_as_node(artifact))
            result.add_edge(Edge(_artifact_node(artifact.hash), _run_node(run_id), artifact.name))
    # An upstream edge that no artifact explains (a run that consumed nothing) is drawn bare.
    for run_id, up in lineage.edges:
        consumed = {a.hash for a in lineage.inputs.get(run_id, [])}
        if not consumed & {a.hash for a in lineage.outputs.get(up, [])}:
            result.add_edge(Edge(_run_node(up), _run_node(run_id), "upstream", dashed=True))
    return result


def step_graph(catalog: Catalog, root: Path | None = None) -> Graph:
    """Draw steps with their run counts; edges from the recorded runs and lineage.toml."""
    from lineage.pipeline import load_pipeline

    counts = catalog.step_counts()
    recorded = catalog.step_edges()
    pipeline = load_pipeline(root, lenient=True) if root is not None else None
    steps = list(pipeline.order) if pipeline else []
    steps += [s for s in counts if s not in steps]
    result = Graph("steps")
    for step in steps:
        n = counts.get(step, 0)
        detail = f"{n} run" + ("" if n == 1 else "s")
        if pipeline and step in pipeline.steps:
            detail = f"{pipeline.steps[step].key}, {detail}"
        result.add_node(Node(_step_node(step), "step", step, detail))
    declared: set[tuple[str, str]] = set()
    if pipeline is not None:
        declared = {(up, step) for step in pipeline.order for up in pipeline.steps[step].after}
    for up, step in sorted(set(recorded) | declared):
        # A declared step no run has recorded yet is drawn dashed: the plan, not the record.
        if (up, step) in recorded:
            result.add_edge(Edge(_step_node(up), _step_node(step)))
        else:
            result.add_edge(Edge(_step_node(up), _step_node(step), "after", dashed=True))
    return result


def _run_node(run_id: str) -> str:
    return f"r_{run_id}"


def _artifact_node(hash_: str) -> str:
    algorithm, _, hexdigest = hash_.partition(":")
    return f"a_{algorithm}_{hexdigest}"


def _step_node(step: str) -> str:
    # Mermaid ids are plain ASCII words; anything else is spelled out by its code point.
    return "s_" + "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in step)


def _artifact_as_node(artifact: ArtifactInfo, focus: bool = False) -> Node:
    algorithm, _, hexdigest = artifact.hash.partition(":")
    if artifact.kind == "table" and artifact.rows is not None:
        detail = f"table {artifact.rows} row" + ("" if artifact.rows == 1 else "s")
    else:
        detail = f"{artifact.kind} {artifact.size} B"
    return Node(
        _artifact_node(artifact.hash), "artifact", f"{algorithm}:{hexdigest[:12]}", detail, focus
    )


# -- renderers ---------------------------------------------------------------------------------


def to_text(g: Graph) -> str:
    """Render an indented tree from the nodes nothing points to; a node met again is named."""
    children: dict[str, list[Edge]] = {n: [] for n in g.nodes}
    has_parent: set[str] = set()
    for edge in g.edges:
        children[edge.source].append(edge)
        has_parent.add(edge.target)
    lines = [g.title if g.nodes else f"{g.title}: none recorded yet"]
    shown: set[str] = set()

    def line(node_id: str) -> str:
        node = g.nodes[node_id]
        text = f"{node.label}  {node.detail}".rstrip()
        return text + ("  <-" if node.focus else "")

    # Roots first; then any node left unshown (only a cycle hides every root of its part).
    starts = [n for n in g.nodes if n not in has_parent] + [n for n in g.nodes if n in has_parent]
    for root in starts:
        if root in shown:
            continue
        shown.add(root)
        lines.append(line(root))
        # An explicit stack, not recursion: a chain thousands of runs deep must still print.
        stack = [(edge, "", i == len(children[root]) - 1) for i, edge in enumerate(children[root])]
        stack.reverse()
        while stack:
            edge, prefix, last = stack.pop()
            branch = "└─ " if last else "├─ "
            name = f"{edge.label} → " if edge.label else ""
            seen = edge.target in shown
            lines.append(
                f"{prefix}{branch}{name}{line(edge.target)}" + ("  (above)" if seen else "")
            )
            if seen:
                continue
            shown.add(edge.target)
            below = children[edge.target]
            deeper = prefix + ("   " if last else "│  ")
            stack.extend(
                (child, deeper, i == len(below) - 1)
                for i, child in reversed(list(enumerate(below)))
            )
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(g: Graph) -> str:
    """Render a mermaid flowchart: runs as boxes, artifacts as cylinders, steps as rounded."""
    lines = ["flowchart LR"]
    shapes = {"run": ('["', '"]'), "artifact": ('[("', '")]'), "step": ('("', '")')}
    for node in g.nodes.values():
        left, right = shapes[node.kind]
        label = _mermaid_text(node.label + (f"<br/>{node.detail}" if node.detail else ""))
        lines.append(f"    {node.id}{left}{label}{right}")
    for edge in g.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    focused = [n.id for n in g.nodes.values() if n.focus]
    if focused:
        lines.append("    classDef focus stroke-width:3px")
        lines.append(f"    class {','.join(focused)} focus")
    return "\n".join(lines)


def _dot_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid dot quoted string


def to_dot(g: Graph) -> str:
    """Render a graphviz digraph (``lineage graph REF --format dot | dot -Tsvg``)."""
    shapes = {"run": "box", "artifact": "cylinder", "step": "box"}
    lines = [
        f"digraph lineage {{  // {g.title}",
        "    rankdir=LR;",
        '    node [fontname="Helvetica", fontsize=10];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in g.nodes.values():
        label = node.label + (f"\n{node.detail}" if node.detail else "")
        attrs = [f"label={_dot_text(label)}", f"shape={shapes[node.kind]}"]
        if node.kind == "step":
            attrs.append('style="rounded"')
        if node.focus:
            attrs.append("penwidth=3")
        lines.append(f"    {_dot_text(node.id)} [{', '.join(attrs)}];")
    for edge in g.edges:
        attrs = [f"label={_dot_text(edge.label)}"] if edge.label else []
        if edge.dashed:
            attrs.append("style=dashed")
        tail = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {_dot_text(edge.source)} -> {_dot_text(edge.target)}{tail};")
    lines.append("}")
    return "\n".join(lines)
