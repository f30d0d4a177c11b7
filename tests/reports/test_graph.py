"""The topology graph the HTML and Markdown reports draw: nodes from the topology model, and each wrong edge
tied to the failed finding that names it (CONTRACT.md > Wiring), on real renders of mutants of the chart."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutants import Mutant, load_mutant, materialize
from report_runs import SELECTS_NOTHING

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.pipeline import Case, CaseResult, evaluate_case
from quickmeet_conformance.render import Renderer
from quickmeet_conformance.reports.graph import COLUMNS, Graph, build_graph

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
MUTANTS = FIXTURES / "mutants/static"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(resolve_helm(str(REPO / ".tools/bin/helm3")))


def _evaluate(mutant: Mutant | None, renderer: Renderer, tmp_path: Path) -> tuple[CaseResult, Graph]:
    if mutant is None:
        chart_dir, values = FIXTURES / "charts/rocketchat", FIXTURES / "values/seed-docs.yaml"
    else:
        chart_dir, values = materialize(mutant, FIXTURES, tmp_path)
    chart = load_chart(str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    result = evaluate_case(Case(chart, str(values), renderer))
    assert result.topology is not None, result.input_error
    return result, build_graph(result.topology, result.findings, result.case.matcher)


def _wrong(graph: Graph) -> list[tuple[str, str, str]]:
    return [(e.source, e.target, e.wrong.rule_id) for e in graph.wrong_edges() if e.wrong]


def test_reference_chart_graph_has_every_component_and_no_wrong_edge(
    renderer: Renderer, tmp_path: Path
) -> None:
    result, graph = _evaluate(None, renderer, tmp_path)
    components = {n.component for n in graph.nodes}
    assert {"monolith", "ddp-streamer", "accounts", "authorization", "presence", "nats"} <= components, (
        components
    )
    assert not _wrong(graph), f"the reference chart passes every rule, yet wrong edges: {_wrong(graph)}"
    routes = {(graph.node(e.source).label, e.target) for e in graph.edges if e.source.startswith("path:")}
    assert ("domain.xyz/websocket", "svc:rocketchat-ddp-streamer") in routes, routes
    transporters = {e.target for e in graph.edges if e.label == "nats:4222"}
    assert transporters == {"svc:rocketchat-nats"}, (
        f"every TRANSPORTER names the NATS Service: {transporters}"
    )


def test_websocket_to_monolith_is_two_wrong_edges_tied_to_the_finding(
    renderer: Renderer, tmp_path: Path
) -> None:
    result, graph = _evaluate(
        load_mutant(MUTANTS / "ingress-websocket--to-monolith.yaml"), renderer, tmp_path
    )
    wrong = _wrong(graph)
    assert sorted(wrong) == [
        (
            "path:rocketchat-rocketchat:domain.xyz/sockjs",
            "svc:rocketchat-rocketchat",
            "ingress.websocket-to-ddp-streamer",
        ),
        (
            "path:rocketchat-rocketchat:domain.xyz/websocket",
            "svc:rocketchat-rocketchat",
            "ingress.websocket-to-ddp-streamer",
        ),
    ], wrong
    failed = [f for f in result.findings["ingress.websocket-to-ddp-streamer"] if f.failed]
    for edge in graph.wrong_edges():
        assert edge.wrong and failed[edge.wrong.index].message == edge.wrong.message
        assert edge.wrong.severity == "error"


def test_transporter_resolving_nowhere_points_at_a_missing_node(renderer: Renderer, tmp_path: Path) -> None:
    _, graph = _evaluate(load_mutant(MUTANTS / "wiring-transporter--unknown-host.yaml"), renderer, tmp_path)
    missing = graph.node("missing:svc:rocketchat-nats-client")
    assert missing.missing and missing.column == "nats-service"
    wrong = _wrong(graph)
    assert len(wrong) >= 5 and all(t == missing.id and r == "wiring.transporter" for _, t, r in wrong), wrong


def test_service_selecting_nothing_is_a_wrong_edge_to_no_pods(renderer: Renderer, tmp_path: Path) -> None:
    _, graph = _evaluate(SELECTS_NOTHING, renderer, tmp_path)
    assert sorted(_wrong(graph)) == [  # and so / reaches no monolith either
        ("path:rocketchat-rocketchat:domain.xyz/", "svc:rocketchat-rocketchat", "ingress.root-to-monolith"),
        ("svc:rocketchat-rocketchat", "missing:pods:rocketchat-rocketchat", "services.single-component"),
    ]
    assert graph.node("missing:pods:rocketchat-rocketchat").detail == "selector app.kubernetes.io/name=nobody"


def test_instance_only_selectors_keep_the_services_in_their_column(
    renderer: Renderer, tmp_path: Path
) -> None:
    """Microservice Services selecting by instance label only also select the NATS pods: they stay Services
    (their edges to every component's workloads are wrong), and the NATS Service column keeps what a
    TRANSPORTER names and what selects NATS pods only."""
    _, graph = _evaluate(
        load_mutant(MUTANTS / "services-single-component--instance-only-selector.yaml"), renderer, tmp_path
    )
    columns = {n.id: n.column for n in graph.nodes}
    nats_column = sorted(n for n, c in columns.items() if c == "nats-service")
    assert nats_column == ["svc:rocketchat-nats", "svc:rocketchat-nats-headless"], nats_column
    for name in ("ddp-streamer", "account", "authorization", "presence"):
        assert columns[f"svc:rocketchat-{name}"] == "service", (name, columns[f"svc:rocketchat-{name}"])
    fan = {
        (e.target, e.wrong.rule_id)
        for e in graph.wrong_edges()
        if e.wrong and e.source == "svc:rocketchat-ddp-streamer"
    }
    assert {
        ("wl:Deployment/rocketchat-rocketchat", "services.single-component"),
        ("wl:StatefulSet/rocketchat-nats", "services.single-component"),
    } <= fan, fan


@pytest.mark.parametrize(
    "mutant",
    [
        None,
        "services-single-component--instance-only-selector.yaml",
        "wiring-transporter--unknown-host.yaml",
        "ingress-websocket--to-monolith.yaml",
        "selects-nothing",
    ],
)
def test_no_edge_runs_backwards(mutant: str | None, renderer: Renderer, tmp_path: Path) -> None:
    """Every edge leads rightwards, from a column to a later one (the HTML routes around what skips one)."""
    loaded = SELECTS_NOTHING if mutant == "selects-nothing" else mutant and load_mutant(MUTANTS / mutant)
    _, graph = _evaluate(loaded or None, renderer, tmp_path)
    column = {n.id: COLUMNS.index(n.column) for n in graph.nodes}
    backwards = [(e.source, e.target) for e in graph.edges if column[e.target] <= column[e.source]]
    assert not backwards, backwards
