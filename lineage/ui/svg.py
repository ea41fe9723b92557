"""Draw a lineage graph as SVG on the server: a layered left-to-right layout, nodes as links.

The graph comes from ``lineage.drawing`` (runs and artifacts as nodes, outputs and inputs as
edges). Layers follow the longest path from the sources, so a chain reads load -> data ->
process -> features -> train -> model from left to right; a few barycenter sweeps order each
layer so that edges cross less. Everything is escaped text; styling lives in the package's
stylesheet (classes), since the page's content policy allows no inline style.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from lineage.drawing import Graph, Node

NODE_W = 250
NODE_H = 46
GAP_X = 70
GAP_Y = 18
PAD = 16
SWEEPS = 4
LABEL_CHARS = 31


def layers(g: Graph) -> list[list[str]]:
    """Return the node ids by layer, sources first, each layer ordered to cross less."""
    ids = list(g.nodes)
    ins: dict[str, list[str]] = {n: [] for n in ids}
    outs: dict[str, list[str]] = {n: [] for n in ids}
    for edge in g.edges:
        if edge.source in ins and edge.target in ins and edge.source != edge.target:
            outs[edge.source].append(edge.target)
            ins[edge.target].append(edge.source)
    waiting = {n: len(ins[n]) for n in ids}
    rank = dict.fromkeys(ids, 0)
    ready = [n for n in ids if waiting[n] == 0]
    done: set[str] = set()
    while ready:
        current = ready.pop()
        done.add(current)
        for child in outs[current]:
            rank[child] = max(rank[child], rank[current] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    # A cycle (only hand-written records make one) keeps its nodes, after everything else.
    last = max((rank[n] for n in done), default=-1)
    for n in ids:
        if n not in done:
            rank[n] = last + 1
    by_rank: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for n in ids:
        by_rank[rank[n]].append(n)
    for sweep in range(SWEEPS):
        # Down sweeps place a node under its parents' mean position, up sweeps under its
        # children's; a node with no neighbour on that side keeps its place.
        down = sweep % 2 == 0
        order = range(1, len(by_rank)) if down else range(len(by_rank) - 2, -1, -1)
        for r in order:
            fixed = by_rank[r - 1] if down else by_rank[r + 1]
            position = {n: i for i, n in enumerate(fixed)}
            neighbours = ins if down else outs

            keyed = []
            for i, n in enumerate(by_rank[r]):
                seen = [position[m] for m in neighbours[n] if m in position]
                keyed.append((sum(seen) / len(seen) if seen else float(i), i, n))
            by_rank[r] = [n for *_, n in sorted(keyed)]
    return by_rank


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_svg(g: Graph, href: Callable[[Node], str | None]) -> str:
    """Return the graph as one ``<svg>`` element; ``href`` gives each node's page (or None)."""
    placed: dict[str, tuple[float, float]] = {}
    columns = layers(g)
    tallest = max((len(c) for c in columns), default=0)
    height = PAD * 2 + max(tallest, 1) * (NODE_H + GAP_Y) - GAP_Y
    width = PAD * 2 + max(len(columns), 1) * (NODE_W + GAP_X) - GAP_X
    for r, column in enumerate(columns):
        used = len(column) * (NODE_H + GAP_Y) - GAP_Y
        top = (height - used) / 2
        for i, node_id in enumerate(column):
            placed[node_id] = (PAD + r * (NODE_W + GAP_X), top + i * (NODE_H + GAP_Y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage-graph" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">',
        f"<title>{escape(g.title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'class="arrow"/></marker></defs>',
        '<g class="viewport">',
    ]
    for edge in g.edges:
        if edge.source not in placed or edge.target not in placed:
            continue
        sx, sy = placed[edge.source]
        tx, ty = placed[edge.target]
        x1, y1 = sx + NODE_W, sy + NODE_H / 2
        x2, y2 = tx, ty + NODE_H / 2
        bend = max((x2 - x1) / 2, 30)
        css = "edge dashed" if edge.dashed else "edge"
        parts.append(
            f'<path class="{css}" marker-end="url(#arrow)" d="M {x1:.1f} {y1:.1f} '
            f'C {x1 + bend:.1f} {y1:.1f}, {x2 - bend:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}">'
            f"<title>{escape(edge.label)}</title></path>"
        )
    for node_id, (x, y) in placed.items():
        node = g.nodes[node_id]
        css = f"node {node.kind}" + (" focus" if node.focus else "")
        radius = 14 if node.kind == "artifact" else 4
        label, detail = node.label, node.detail
        if node.kind == "run" and "@" in label:
            # step:value on the first line, its time with the id and status on the second.
            label, _, when = label.partition("@")
            detail = f"{when.replace('T', ' ')}  {detail}"
        shape = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="{radius}"/>'
            f'<text x="{x + 10:.1f}" y="{y + 19:.1f}" class="label">{escape(_short(label))}'
            f'</text><text x="{x + 10:.1f}" y="{y + 36:.1f}" class="detail">'
            f"{escape(_short(detail, LABEL_CHARS + 8))}</text>"
            f"<title>{escape(node.label)} {escape(node.detail)}</title>"
        )
        link = href(node)
        if link:
            shape = f'<a href="{escape(link)}">{shape}</a>'
        parts.append(f'<g class="{css}" data-node="{escape(node_id)}">{shape}</g>')
    parts.append("</g></svg>")
    return "".join(parts)
