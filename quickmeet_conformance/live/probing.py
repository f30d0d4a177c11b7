"""The protocol probes against a release the live lane installed on a cluster that runs containers (kind).

- NATS bus probe: through the release's NATS Service (the Service selecting the NATS pods), reached with a
  ``kubectl port-forward`` to a loopback port; credentials and the bus namespace come from the TRANSPORTER
  and MS_NAMESPACE the chart gave the pods. Expected nodes per component: the pods that run, by name.
- DDP probe: through the ingress controller, on the loopback port kind maps to the node's port 80, with
  the Host of the release's Ingress rule for ``/websocket``.

The probe lane's rules judge each observation through the engine (``probes/rules``); the findings join
the case's other findings under the probe rule ids (``bus.*``, ``ws.*``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ..clusters.base import ClusterHandle
from ..clusters.port_forward import PortForward
from ..errors import ToolError
from ..findings import Finding, Verdict
from ..probes import ddp, nats_bus
from ..probes.context import BusContext, DdpContext
from ..probes.rules import evaluate_probe
from ..topology import NATS, Topology
from .state import NOT_ANSWERED, WEBSOCKET_ROUTES, LiveState

BUS_COMPONENTS = tuple(nats_bus.COMPONENT_SERVICES)
# the heartbeat interval is the release's own (HEARTBEAT_INTERVAL on the pods, else Moleculer's 10 s): the probe
# listens two of them, so a node is called silent only after missing two beats, never for its phase
BUS_OPTIONS = nats_bus.BusProbeOptions(discover_window=4.0)
INGRESS_SYNC_S = 30.0


@dataclass(frozen=True)
class ProbeTargets:
    """What the cluster offers the probes: the loopback port of the ingress controller's HTTP entry."""

    ingress_http_port: int
    ingress_https_port: int = 0


@dataclass(frozen=True)
class ProbeRun:
    findings: dict[str, list[Finding]]
    targets: dict[str, str]  # rule family -> what was probed (no credentials)
    # WebSocket route -> the component that answered it ("ddp-streamer", "monolith" or "unknown")
    answered_by: dict[str, str] = field(default_factory=dict)


def _transporter(state: LiveState, topology: Topology) -> tuple[str, str]:
    """(TRANSPORTER URL as the pods get it, MS_NAMESPACE) from the first bus client that has them."""
    for component in BUS_COMPONENTS:
        for workload in topology.components(component):
            container = workload.main_container
            if container is None:
                continue
            env = container.env_var("TRANSPORTER")
            if env is None:
                continue
            value = env.value
            if value is None and env.secret_name and env.secret_key:
                value = state.secret_value(env.secret_name, env.secret_key)
            ms = container.env_var("MS_NAMESPACE")
            return value or "", (ms.value or "") if ms else ""
    return "", ""


def _heartbeat_interval(topology: Topology, default: float) -> float:
    """The HEARTBEAT_INTERVAL (seconds) the chart gives the bus clients, else ``default`` (Moleculer's)."""
    for component in BUS_COMPONENTS:
        for workload in topology.components(component):
            env = workload.main_container.env_var("HEARTBEAT_INTERVAL") if workload.main_container else None
            try:
                seconds = float(env.value) if env is not None and env.value else 0.0
            except ValueError:
                seconds = 0.0
            if seconds > 0:
                return seconds
    return default


def _nats_service(state: LiveState, topology: Topology) -> tuple[str, int] | None:
    """The Service that selects the NATS pods and its client port (4222 or the port named client)."""
    for workload in topology.components(NATS):
        for service in topology.services_selecting(workload):
            port = service.port_by(name="client") or service.port_by(number=4222)
            if port is not None:
                return service.name, int(port.port)
    return None


def _with_credentials(url: str, host: str, port: int) -> str:
    """``url``'s scheme and credentials, dialing host:port instead (``monolith+nats://`` -> ``nats://``)."""
    parts = urlsplit(url.split("+", 1)[1] if url.startswith("monolith+") else url)
    auth = ""
    if parts.username is not None:
        auth = parts.username + (f":{parts.password}" if parts.password is not None else "") + "@"
    return urlunsplit(("nats", f"{auth}{host}:{port}", "", "", ""))


def bus_expectations(state: LiveState, ms_namespace: str) -> nats_bus.BusExpectations:
    """One bus node per running pod of each component (pods by name), stream-hub only when it runs."""
    pods: dict[str, list[str]] = {}
    for component in BUS_COMPONENTS:
        names = [
            p["metadata"]["name"]
            for p in state.pods(component)
            if (p.get("status") or {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")
        ]
        if names or component != nats_bus.STREAM_HUB:
            pods[component] = names
    present = {c: names for c, names in pods.items() if names}
    return nats_bus.BusExpectations.from_counts(
        {c: len(n) for c, n in present.items()}, pods=present, namespace=ms_namespace
    )


def probe_bus(
    handle: ClusterHandle,
    state: LiveState,
    topology: Topology,
    options: nats_bus.BusProbeOptions = BUS_OPTIONS,
) -> tuple[dict[str, list[Finding]], str]:
    transporter, ms_namespace = _transporter(state, topology)
    target = _nats_service(state, topology)
    if target is None:
        finding = Finding(
            rule_id=nats_bus.RULE_REACHABLE,
            verdict=Verdict.ERROR,
            message="no Service selects the NATS pods with a client port (4222)",
            expected="a Service selecting the NATS pods",
            found="none",
            resource=f"namespace {state.namespace}",
        )
        return {nats_bus.RULE_REACHABLE: [finding]}, "(no NATS Service)"
    service, port = target
    expectations = bus_expectations(state, ms_namespace)
    with PortForward(handle, state.namespace, service, port) as forward:
        url = _with_credentials(transporter or "nats://", "127.0.0.1", forward.local_port)
        interval = _heartbeat_interval(topology, options.heartbeat_interval)
        observation = nats_bus.observe_bus_sync(
            url,
            nats_bus.BusProbeOptions(
                **{**options.__dict__, "namespace": ms_namespace, "heartbeat_interval": interval}
            ),
        )
    findings = evaluate_probe(BusContext(observation, expectations))
    return findings, f"Service {state.namespace}/{service}:{port} (via {forward.what})"


def _ingress_host(topology: Topology) -> str | None:
    routes = [r for r in topology.routes() if r.path.startswith("/websocket") or r.path.startswith("/sockjs")]
    routes = routes or topology.routes()
    return next((r.host for r in routes if r.host), None)


def probe_ddp(
    topology: Topology, targets: ProbeTargets
) -> tuple[dict[str, list[Finding]], str, dict[str, str]]:
    host = _ingress_host(topology) or "localhost"
    # http first; an Ingress with TLS may be served on https only (the certificate is the controller's own,
    # the chart's TLS Secret is not part of the release, so it is not verified)
    tries = [
        (
            f"http://{host}",
            ddp.DdpProbeOptions(connect_to=("127.0.0.1", targets.ingress_http_port)),
            targets.ingress_http_port,
        )
    ]
    if targets.ingress_https_port:
        tries.append(
            (
                f"https://{host}",
                ddp.DdpProbeOptions(connect_to=("127.0.0.1", targets.ingress_https_port), insecure=True),
                targets.ingress_https_port,
            )
        )
    # the ingress controller picks a new Ingress up within seconds: a 404 at first is the controller syncing
    deadline = time.monotonic() + INGRESS_SYNC_S
    while True:
        seen = []
        for base, options, port in tries:  # the first entry whose WebSocket routes answer DDP wins
            observation = ddp.observe_ddp_sync(base, options)
            seen.append((base, observation, port))
            if any(observation.route(r).connected for r in WEBSOCKET_ROUTES):
                break
        base, observation, port = next(
            ((b, o, p) for b, o, p in seen if any(o.route(r).connected for r in WEBSOCKET_ROUTES)),
            seen[0],
        )
        not_routed = all("HTTP 404" in (o.route(r).error or "") for _, o, _ in seen for r in WEBSOCKET_ROUTES)
        if not not_routed or time.monotonic() >= deadline:
            break
        time.sleep(2.0)
    findings = evaluate_probe(DdpContext(observation))
    answered = {
        route: observation.answered_by(route) if observation.route(route).connected else NOT_ANSWERED
        for route in WEBSOCKET_ROUTES
    }
    return findings, f"{base} through the ingress controller at 127.0.0.1:{port}", answered


def probe_release(
    handle: ClusterHandle,
    state: LiveState,
    topology: Topology,
    targets: ProbeTargets,
    say: Callable[[str], None] = lambda line: None,
    families: tuple[str, ...] = ("bus", "ws"),
) -> ProbeRun:
    """The probes (both by default) against one installed release; a probe that cannot run is an ERROR
    finding, not a pass."""
    findings: dict[str, list[Finding]] = {}
    where: dict[str, str] = {}
    answered: dict[str, str] = {}

    def ddp_probe() -> tuple[dict[str, list[Finding]], str]:
        found, target, by = probe_ddp(topology, targets)
        answered.update(by)
        return found, target

    probes: dict[str, Callable[[], tuple[dict[str, list[Finding]], str]]] = {
        "bus": lambda: probe_bus(handle, state, topology),
        "ws": ddp_probe,
    }
    for family, run in ((f, probes[f]) for f in families):
        start = time.monotonic()
        try:
            found, target = run()
        except ToolError as exc:
            rule = nats_bus.RULE_REACHABLE if family == "bus" else ddp.RULE_WEBSOCKET_HANDSHAKE
            found = {
                rule: [
                    Finding(
                        rule_id=rule,
                        verdict=Verdict.ERROR,
                        message=exc.line(),
                        expected="the probe reaches the release",
                        found="it could not",
                        resource=f"namespace {state.namespace}",
                    )
                ]
            }
            target = "(probe could not run)"
        findings.update(found)
        where[family] = target
        failed = sorted(r for r, fs in found.items() if any(f.failed for f in fs))
        say(
            f"{family} probe via {target}: {'FAILED ' + ', '.join(failed) if failed else 'ok'} "
            f"in {time.monotonic() - start:.1f}s"
        )
    return ProbeRun(findings, where, answered)


__all__ = [
    "ProbeRun",
    "ProbeTargets",
    "PortForward",
    "bus_expectations",
    "probe_release",
]
