"""The lineage graph (lineage/drawing.py) through the library: text, mermaid and dot."""

from __future__ import annotations

from pathlib import Path

import pytest

import lineage
from tests.histories import DAY1, DAY2, check_dot, check_mermaid, data_hash, derive, load


def test_graph_of_a_run_in_each_format(two_versions) -> None:
    r = two_versions
    g = lineage.graph(r["p1"].id)
    runs = {n.id for n in g.nodes.values() if n.kind == "run"}
    assert runs == {f"r_{r[name].id}" for name in ("l1", "p1", "t1")}  # not the other version
    assert [n.id for n in g.nodes.values() if n.focus] == [f"r_{r['p1'].id}"]
    labels = {(e.source, e.target): e.label for e in g.edges}
    data = f"a_xxh128_{data_hash(r['l1']).partition(':')[2]}"
    assert labels[(f"r_{r['l1'].id}", data)] == "data"
    assert labels[(data, f"r_{r['p1'].id}")] == "data"
    text = g.render("text")
    lines = text.splitlines()
    assert lines[1].startswith(r["l1"].info.label)
    assert any("features → train:LogisticRegression@2026-11-20T12:00:00Z" in x for x in lines)
    assert any(x.endswith("<-") and "process:plain@2026-11-20T11:00:00Z" in x for x in lines)
    nodes, edges = check_mermaid(g.render("mermaid"))
    assert len(nodes) == len(g.nodes) == 6 and edges == len(g.edges) == 5
    nodes, edges = check_dot(g.render("dot"))
    assert len(nodes) == 6 and edges == 5


def test_step_graph_counts_runs_and_adds_declared_steps(two_versions, project: Path) -> None:
    (project / "lineage.toml").write_text(
        "[steps.load]\nkey = 'table'\ntime = 'retrieval_time'\ncommand = 'true'\n"
        "[steps.process]\nkey = 'logic'\ntime = 'processing_time'\nafter = ['load']\n"
        "command = 'true'\n"
        "[steps.train]\nkey = 'algorithm'\ntime = 'trained_time'\nafter = ['process']\n"
        "command = 'true'\n"
        "[steps.report]\nkey = 'name'\ntime = 'report_time'\nafter = ['train']\n"
        "command = 'true'\n"
    )
    g = lineage.graph()
    details = {n.label: n.detail for n in g.nodes.values()}
    assert details == {
        "load": "table, 2 runs",
        "process": "logic, 2 runs",
        "train": "algorithm, 2 runs",
        "report": "name, 0 runs",
    }
    edges = {(e.source, e.target): (e.label, e.dashed) for e in g.edges}
    assert edges == {
        ("s_load", "s_process"): ("", False),
        ("s_process", "s_train"): ("", False),
        ("s_train", "s_report"): ("after", True),
    }
    assert g.render("text").splitlines()[1:] == [
        "load  table, 2 runs",
        "└─ process  logic, 2 runs",
        "   └─ train  algorithm, 2 runs",
        "      └─ after → report  name, 0 runs",
    ]
    check_mermaid(g.render("mermaid"))
    check_dot(g.render("dot"))


def test_labels_with_quotes_stay_valid_mermaid_and_dot(project: Path) -> None:
    odd = load('he said "hi" \\o/', DAY1, [1])
    g = lineage.graph(odd.id)
    check_mermaid(g.render("mermaid"))
    check_dot(g.render("dot"))


def test_unknown_format_is_a_usage_error(project: Path) -> None:
    from lineage.errors import UsageError

    with pytest.raises(UsageError, match="text, mermaid, dot"):
        lineage.graph().render("png")


def test_graph_of_a_data_hash_shows_who_produced_and_who_consumed_it(project: Path) -> None:
    first = load("transactions", DAY1, [3, 4])
    second = load("transactions", DAY2, [3, 4])
    process = derive("process", "plain", "2026-11-21T11:00:00Z", [second], ["data"])
    g = lineage.graph(data_hash(first))
    node = f"a_xxh128_{data_hash(first).partition(':')[2]}"
    assert [n.id for n in g.nodes.values() if n.focus] == [node]
    edges = {(e.source, e.target, e.label) for e in g.edges}
    assert (f"r_{first.id}", node, "data") in edges
    assert (f"r_{second.id}", node, "data") in edges
    assert (node, f"r_{process.id}", "data") in edges


def test_lineage_graph_stays_callable_once_its_module_is_imported(project: Path) -> None:
    import lineage.drawing as module

    assert isinstance(lineage.graph(), module.Graph)  # the drawing module shadows nothing


def test_text_tree_of_a_chain_deeper_than_the_recursion_limit() -> None:
    from lineage.drawing import Edge, Graph, Node

    g = Graph("deep")
    for i in range(3000):
        g.add_node(Node(f"n{i}", "run", f"run {i}"))
        if i:
            g.add_edge(Edge(f"n{i - 1}", f"n{i}", "out"))
    lines = g.render("text").splitlines()
    assert len(lines) == 3001 and lines[-1].endswith("└─ out → run 2999")
    assert g.render("dot").count(" -> ") == 2999
