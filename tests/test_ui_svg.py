"""The UI's SVG drawings and query helpers, without a server: layout, escaping, charts."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from lineage.drawing import Edge, Graph, Node
from lineage.errors import UsageError
from lineage.ui import charts, svg
from lineage.ui.page import Query, check_hash, cursor, parse_cursor

SVG = "{http://www.w3.org/2000/svg}"


def chain_graph() -> Graph:
    g = Graph("lineage of <train>")
    for node_id, kind, label in (
        ("r_load", "run", "load:t@2026-11-20T10:00:00Z"),
        ("a_data", "artifact", "xxh128:aaaa"),
        ("r_proc", "run", "process:<script>alert(1)</script>@2026-11-20T10:01:00Z"),
        ("a_feat", "artifact", "xxh128:bbbb"),
        ("r_train", "run", "train:lr@2026-11-20T10:02:00Z"),
        ("r_other", "run", "train:tree@2026-11-20T10:03:00Z"),
    ):
        g.add_node(Node(node_id, kind, label, "detail & more"))
    for source, target in (
        ("r_load", "a_data"),
        ("a_data", "r_proc"),
        ("r_proc", "a_feat"),
        ("a_feat", "r_train"),
        ("a_feat", "r_other"),
    ):
        g.add_edge(Edge(source, target, "name"))
    g.nodes["r_train"].focus = True
    return g


def test_layers_follow_the_longest_path_from_the_sources() -> None:
    assert svg.layers(chain_graph()) == [
        ["r_load"],
        ["a_data"],
        ["r_proc"],
        ["a_feat"],
        ["r_train", "r_other"],  # a tie keeps the order the graph gave
    ]


def test_a_cycle_written_by_hand_keeps_its_nodes() -> None:
    g = Graph("cycle")
    for name in ("a", "b", "c"):
        g.add_node(Node(name, "run", name))
    g.add_edge(Edge("a", "b"))
    g.add_edge(Edge("b", "c"))
    g.add_edge(Edge("c", "b"))
    placed = [n for layer in svg.layers(g) for n in layer]
    assert sorted(placed) == ["a", "b", "c"]


def test_the_svg_is_well_formed_escaped_and_links_its_nodes() -> None:
    drawn = svg.to_svg(chain_graph(), lambda node: f"/runs/{node.id}?a=1&b=2")
    root = ET.fromstring(drawn)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert len(links) == 6 and "/runs/r_load?a=1&b=2" in links
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]) == 5
    focus = [g for g in root.iter(f"{SVG}g") if "focus" in (g.get("class") or "")]
    assert [g.get("data-node") for g in focus] == ["r_train"]
    # A run's time moves to the second line, so the step and value stay readable.
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "train:lr" in texts and any(t.startswith("2026-11-20 10:02:00Z") for t in texts)


def test_an_empty_graph_draws() -> None:
    ET.fromstring(svg.to_svg(Graph("nothing"), lambda node: None))


def test_a_curve_skips_values_it_cannot_place() -> None:
    svg = charts.curve_svg("loss", [(0, 1.0), (1, math.nan), (2, 0.25), (3, math.inf)])
    root = ET.fromstring(svg)
    points = next(root.iter(f"{SVG}polyline")).get("points").split()
    assert len(points) == 2
    assert len(list(root.iter(f"{SVG}circle"))) == 2


def test_parallel_coordinates_place_numbers_and_categories() -> None:
    axes = [
        charts.Axis("C", [charts.as_value("0.1"), charts.as_value("1.0"), None]),
        charts.Axis("solver", [charts.as_value("lbfgs"), charts.as_value("saga"), "lbfgs"]),
        charts.Axis("auc", [0.7, 0.9, 0.8]),
    ]
    assert axes[0].numeric and not axes[1].numeric
    root = ET.fromstring(charts.parallel_svg(["a", "b", "<c>"], axes))
    lines = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "run-line"]
    assert len(lines) == 3
    assert len(lines[2].get("points").split()) == 2  # no C for the third run: no point there
    # Low metric blue, high red.
    assert lines[0].get("stroke").startswith("hsl(220") and lines[1].get("stroke").startswith(
        "hsl(0"
    )
    assert [t.text for t in root.iter(f"{SVG}title")][-1] == "<c>"


def test_query_reads_lists_and_keeps_the_rest_in_links() -> None:
    query = Query([("run", "a"), ("run", " b "), ("run", ""), ("token", "x"), ("limit", "5")])
    assert query.many("run") == ["a", "b"]
    assert query.number("limit", 50, 1, 500) == 5
    assert query.url("/compare", limit=None) == "/compare?run=a&run=+b+"
    with pytest.raises(UsageError, match="limit must be a whole number from 1 to 9"):
        Query([("limit", "ten")]).number("limit", 5, 1, 9)


def test_cursor_and_hash_are_validated() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC)
    text = cursor(moment, "0" * 31 + "a")
    assert parse_cursor(text) == (moment, "0" * 31 + "a")
    for bad in ("x", "2026-11-20_short", f"2026-11-20_{'Z' * 32}"):
        with pytest.raises(UsageError):
            parse_cursor(bad)
    assert check_hash("xxh128:" + "0" * 32) == "xxh128:" + "0" * 32
    for bad in ("xxh128:" + "0" * 31, "md5:" + "0" * 32, "xxh128:" + "G" * 32, "../etc"):
        with pytest.raises(UsageError, match="not an artifact hash"):
            check_hash(bad)
