"""The release drawn as a graph: Ingress paths -> Services -> workloads -> the NATS Service each TRANSPORTER names
and the MongoDB each MONGO_URL leads to.

Extraction only: nodes and edges come from the topology model and the connections the lane gathered, and an
edge is "wrong" when a failed finding of the case names it (a route's field path, a Service, a workload's
TRANSPORTER, a MongoDB connection's Secret or workload). No rule is re-evaluated here; the HTML and Markdown
reports both draw this one graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ..connections.model import Connections, HostResolution, MongoClient, Source
from ..findings import Finding
from ..topology import MONGODB, NATS, STREAM_HUB, ComponentMatcher, Topology, Workload, parse_transporter

# Findings that make an edge wrong: rule id -> what the finding names (its resource).
ROUTE_RULES = ("ingress.websocket-to-ddp-streamer", "ingress.root-to-monolith")
SERVICE_RULES = ("services.single-component", "services.target-port")
TRANSPORTER_RULES = ("wiring.transporter", "wiring.transporter-mode")
MONGO_RULES = (
    "connections.mongo-url-parses",
    "connections.mongo-host",
    "connections.mongo-credentials",
    "connections.mongo-replica-set",
)

# Columns of the drawing, left to right (the MongoDB columns are drawn under the NATS ones: diagrams.SLOT).
COLUMNS = ("path", "service", "workload", "nats-service", "mongo-service", "nats", "mongodb")


@dataclass(frozen=True)
class Node:
    id: str
    column: str  # one of COLUMNS
    label: str
    detail: str = ""  # replicas and image for workloads, ports for Services
    component: str = ""
    stream_hub: bool = False
    missing: bool = False  # a target that does not exist (a TRANSPORTER host, the pods a Service selects)


@dataclass(frozen=True)
class FindingRef:
    """The finding an edge is wrong because of: rule id and its n-th failed finding in the case."""

    rule_id: str
    index: int
    severity: str
    message: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    wrong: FindingRef | None = None


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def wrong_edges(self) -> list[Edge]:
        return [e for e in self.edges if e.wrong is not None]


def route_field_path(host: str, path: str) -> str:
    """The field path the ingress rules give a route's findings."""
    return f"spec.rules[host={host or '*'}].http.paths[path={path}]"


def _failed(
    findings: dict[str, list[Finding]], rule_ids: tuple[str, ...]
) -> list[tuple[FindingRef, Finding]]:
    refs = []
    for rule_id in rule_ids:
        failed = [f for f in findings.get(rule_id, []) if f.failed]
        refs += [(FindingRef(rule_id, i, f.severity.value, f.message), f) for i, f in enumerate(failed)]
    return refs


def _first(
    refs: list[tuple[FindingRef, Finding]], resource: str, field_path: str | None = None
) -> FindingRef | None:
    """The first failed finding naming ``resource`` (and ``field_path`` when given)."""
    return next(
        (ref for ref, f in refs if f.resource == resource and field_path in (None, f.field_path)), None
    )


def _workload_detail(workload: Workload) -> str:
    """``Deployment, 2 replicas · <image>`` (the drawings show the part before `` · `` and the image as lines)."""
    replicas = (
        "replicas unset (1)"
        if workload.replicas is None
        else f"{workload.replicas} replica" + ("" if workload.replicas == 1 else "s")
    )
    image = workload.main_container.image if workload.main_container else "no container"
    return f"{workload.kind}, {replicas} · {image}"


def build_graph(
    topology: Topology,
    findings: dict[str, list[Finding]],
    matcher: ComponentMatcher | None = None,
    redact: Callable[[str], str] = str,
    connections: Connections | None = None,
) -> Graph:
    """The release's graph; ``redact`` masks anything a label could quote (labels are names, never values).
    With the case's ``connections``, each MongoDB connection a rule judged is drawn too."""
    matcher = matcher or ComponentMatcher()
    redact = lru_cache(maxsize=None)(redact)  # the same names recur across nodes, ids and edges
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    route_refs = _failed(findings, ROUTE_RULES)
    service_refs = _failed(findings, SERVICE_RULES)
    transporter_refs = _failed(findings, TRANSPORTER_RULES)

    # The NATS Service column holds what a TRANSPORTER names and the Services that select NATS pods only.
    # A Service whose selector also catches NATS pods (an instance-only selector) stays a Service: drawn in
    # the NATS column, its edges to the other workloads would run backwards across the boxes.
    nats_services = set()
    for service in topology.services:
        selected = topology.workloads_selected_by(service)
        if selected and all(w.component == NATS for w in selected):
            nats_services.add(service.name)
    for workload in topology.workloads:
        container = workload.container_for(workload.component, matcher)
        var = container.env_var("TRANSPORTER") if container else None
        target = parse_transporter(var.value or "") if var is not None and var.secret_name is None else None
        if target is not None and topology.service(target.host) is not None:
            nats_services.add(target.host)

    def add(node: Node) -> str:
        nodes.setdefault(node.id, node)
        return node.id

    mongo_services = {
        service.name
        for service in topology.services
        if (selected := topology.workloads_selected_by(service))
        and all(w.component == MONGODB for w in selected)
    }
    if connections is None:  # without the judged connections, MongoDB stays where the topology puts it
        mongo_services = set()
    for workload in topology.workloads:
        column = (
            "nats"
            if workload.component == NATS
            else "mongodb"
            if workload.component == MONGODB and mongo_services
            else "workload"
        )
        add(
            Node(
                f"wl:{workload.ref}",
                column,
                redact(workload.name),
                redact(_workload_detail(workload)),
                workload.component or "",
                workload.component == STREAM_HUB,
            )
        )
    for service in topology.services:
        ports = ", ".join(f"{p.name or '-'}:{p.port}" for p in service.ports)
        add(
            Node(
                f"svc:{service.name}",
                "nats-service"
                if service.name in nats_services
                else "mongo-service"
                if service.name in mongo_services
                else "service",
                redact(service.name),
                redact(f"Service · {ports}"),
            )
        )

    for route in topology.routes():
        shown = f"{route.host or '*'}{route.path}"
        path_id = add(
            Node(
                f"path:{route.ingress}:{shown}",
                "path",
                redact(shown),
                redact(f"Ingress/{route.ingress} · pathType {route.path_type or 'unset'}"),
            )
        )
        field_path = route_field_path(route.host, route.path)
        wrong = _first(route_refs, f"Ingress/{route.ingress}", field_path)
        backend = f"svc:{route.service}"
        if backend not in nodes:
            backend = add(
                Node(
                    f"missing:svc:{route.service}",
                    "service",
                    redact(route.service),
                    "Service · not in the release",
                    missing=True,
                )
            )
        edges.append(Edge(path_id, backend, redact(route.port_label), wrong))

    for service in topology.services:
        wrong = _first(service_refs, service.ref)
        selected = topology.workloads_selected_by(service)
        if service.selector and not selected:
            missing = add(
                Node(
                    f"missing:pods:{service.name}",
                    "workload",
                    "no pods",
                    redact("selector " + ", ".join(f"{k}={v}" for k, v in service.selector.items())),
                    missing=True,
                )
            )
            edges.append(Edge(f"svc:{service.name}", missing, "selects", wrong))
        for workload in selected:
            edges.append(Edge(f"svc:{service.name}", f"wl:{workload.ref}", "", wrong))

    for workload in topology.workloads:
        container = workload.container_for(workload.component, matcher)
        var = container.env_var("TRANSPORTER") if container else None
        if var is None:
            continue
        wrong = _first(transporter_refs, workload.ref)
        source = f"wl:{workload.ref}"
        if var.secret_name is not None:
            target_id = add(
                Node(
                    f"secret:{var.secret_name}",
                    "nats-service",
                    redact(f"Secret/{var.secret_name}"),
                    redact(f"TRANSPORTER from key {var.secret_key}"),
                )
            )
            edges.append(Edge(source, target_id, "TRANSPORTER", wrong))
            continue
        target = parse_transporter(var.value or "")
        if target is None:
            target_id = add(
                Node("missing:transporter:invalid", "nats-service", "not a nats:// URL", missing=True)
            )
            edges.append(Edge(source, target_id, "TRANSPORTER", wrong))
            continue
        label = f"{target.scheme}:{target.port}"
        if topology.service(target.host) is not None:
            edges.append(Edge(source, f"svc:{target.host}", label, wrong))
        else:
            target_id = add(
                Node(
                    f"missing:svc:{target.host}",
                    "nats-service",
                    redact(target.host),
                    f"no such Service (port {target.port})",
                    missing=True,
                )
            )
            edges.append(Edge(source, target_id, label, wrong))
    if connections is not None:
        edges += _mongo_edges(connections, nodes, add, _failed(findings, MONGO_RULES), redact)
    # ids carry names and hosts too (a host may be anything a values file holds): masked like the labels
    return Graph(
        tuple(replace(n, id=redact(n.id)) for n in nodes.values()),
        tuple(
            replace(
                e,
                source=redact(e.source),
                target=redact(e.target),
                wrong=replace(e.wrong, message=redact(e.wrong.message)) if e.wrong else None,
            )
            for e in edges
        ),
    )


def _source_resource(source: Source) -> str:
    """The resource a connections finding names for ``source`` (rules/connections.py: its Secret, else the
    first workload reading the value)."""
    return f"Secret/{source.secret}" if source.secret else source.workloads[0]


def _mongo_target(
    host: HostResolution, add: Callable[[Node], str], nodes: dict[str, Node], redact: Callable[[str], str]
) -> str:
    """The node a MongoDB host leads to: its Service, the outside MongoDB, or a Service the release lacks."""
    if host.service is not None and f"svc:{host.service}" in nodes:
        return f"svc:{host.service}"
    if host.outside:
        return add(
            Node(
                f"mongo:{host.host}",
                "mongodb",
                redact(host.host),
                f"MongoDB · outside the release ({host.port})",
            )
        )
    return add(
        Node(
            f"missing:svc:{host.host}",
            "mongo-service",
            redact(host.host),
            f"no such Service (port {host.port})",
            missing=True,
        )
    )


def _mongo_edges(
    connections: Connections,
    nodes: dict[str, Node],
    add: Callable[[Node], str],
    refs: list[tuple[FindingRef, Finding]],
    redact: Callable[[str], str],
) -> list[Edge]:
    """One edge per workload and MongoDB it connects to (MONGO_URL, MONGO_OPLOG_URL merged in the label),
    wrong when a failed connections.mongo-* finding names the value's Secret or workload; a connection the lane
    could not judge (a Secret made outside the release) leads to a node saying so."""
    labels: dict[tuple[str, str], list[str]] = {}
    wrong: dict[tuple[str, str], FindingRef | None] = {}
    for conn in connections.mongo:
        source = conn.source
        ref = _first(refs, _source_resource(source))
        if not isinstance(conn, MongoClient):
            targets = [
                add(
                    Node("mongo:not-judged", "mongodb", "MongoDB", "not judged: its URL is not in the render")
                )
            ]
        elif conn.error:
            targets = [
                add(
                    Node(
                        "missing:mongo:invalid", "mongo-service", "not a MongoDB URL", conn.part, missing=True
                    )
                )
            ]
        else:
            targets = list(dict.fromkeys(_mongo_target(h, add, nodes, redact) for h in conn.hosts))
        for workload in source.workloads:
            if f"wl:{workload}" not in nodes:
                continue
            for target in targets:
                key = (f"wl:{workload}", target)
                labels.setdefault(key, []).append(source.env)
                wrong[key] = wrong.get(key) or ref
    return [
        Edge(source, target, redact(", ".join(dict.fromkeys(envs))), wrong[(source, target)])
        for (source, target), envs in labels.items()
    ]


def graph_dict(graph: Graph) -> dict[str, Any]:
    """The graph as plain data for the report model (``cases[].graph``); built field by field, since
    ``dataclasses.asdict`` alone would cost more than the reports' budget (bench/reports_cost.py)."""
    return {
        "nodes": [
            {
                "id": n.id,
                "column": n.column,
                "label": n.label,
                "detail": n.detail,
                "component": n.component,
                "stream_hub": n.stream_hub,
                "missing": n.missing,
            }
            for n in graph.nodes
        ],
        "edges": [
            {
                "source": e.source,
                "target": e.target,
                "label": e.label,
                "wrong": {
                    "rule_id": e.wrong.rule_id,
                    "index": e.wrong.index,
                    "severity": e.wrong.severity,
                    "message": e.wrong.message,
                }
                if e.wrong
                else None,
            }
            for e in graph.edges
        ],
    }
