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
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from ..clusters.base import ClusterHandle
from ..clusters.kubeclient import KubeClient
from ..clusters.port_forward import PortForward
from ..errors import ToolError
from ..findings import Finding, Verdict
from ..probes import ddp, nats_bus
from ..probes.context import BusContext, DdpContext
from ..probes.rules import evaluate_probe
from ..progress import Waited
from ..rules.engine import Options
from ..topology import NATS, Topology
from .diagnostics import pod_states
from .state import NOT_ANSWERED, WEBSOCKET_ROUTES, LiveState

BUS_COMPONENTS = tuple(nats_bus.COMPONENT_SERVICES)
# the heartbeat interval and timeout are the release's own (HEARTBEAT_INTERVAL / HEARTBEAT_TIMEOUT on the pods,
# else Moleculer's 10 s / 30 s): the probe listens two intervals, so a node is called silent only after missing
# two beats, and discovery waits for every pod's node up to the heartbeat timeout (``bus_probe_options``)
BUS_OPTIONS = nats_bus.BusProbeOptions()
INGRESS_SYNC_S = 60.0  # the ingress controller picks a new Ingress and its endpoints up within seconds
DDP_STEP_S = 15.0  # each DDP step through the ingress (handshake, frame): a loaded machine answers late
INGRESS_POLL_S = 2.0
INGRESS_SYNC_MIN_S = 10.0  # at least this long from the probe's start, however old the Ingress is


@dataclass(frozen=True)
class ProbeTargets:
    """What the cluster offers the probes: the loopback port of the ingress controller's HTTP entry."""

    ingress_http_port: int
    ingress_https_port: int = 0
    ingress_address: str = "127.0.0.1"  # where the entry listens (--ingress-url of an existing cluster)

    @classmethod
    def from_url(cls, url: str) -> ProbeTargets:
        """``--ingress-url http://host:port`` (or https): the ingress entry of a cluster the run did not make."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ToolError(
                f"--ingress-url {url!r}: not an http(s) URL", fix="pass e.g. http://127.0.0.1:8080"
            )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if parts.scheme == "https":
            return cls(0, port, parts.hostname)
        return cls(port, 0, parts.hostname)


@dataclass(frozen=True)
class ProbeRun:
    findings: dict[str, list[Finding]]
    targets: dict[str, str]  # rule family -> what was probed (no credentials)
    # WebSocket route -> the component that answered it ("ddp-streamer", "monolith" or "unknown")
    answered_by: dict[str, str] = field(default_factory=dict)
    waits: list[Waited] = field(default_factory=list)  # every wait of the probes, in order


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


def _bus_seconds(topology: Topology, name: str) -> float:
    """The first positive number of seconds the chart gives a bus client in env ``name`` (0.0: none)."""
    for component in BUS_COMPONENTS:
        for workload in topology.components(component):
            env = workload.main_container.env_var(name) if workload.main_container else None
            try:
                seconds = float(env.value) if env is not None and env.value else 0.0
            except ValueError:
                seconds = 0.0
            if seconds > 0:
                return seconds
    return 0.0


def _heartbeat_interval(topology: Topology, default: float) -> float:
    """The HEARTBEAT_INTERVAL (seconds) the chart gives the bus clients, else ``default`` (Moleculer's)."""
    return _bus_seconds(topology, "HEARTBEAT_INTERVAL") or default


def bus_probe_options(
    topology: Topology,
    expect: nats_bus.BusExpectations,
    base: nats_bus.BusProbeOptions = BUS_OPTIONS,
) -> nats_bus.BusProbeOptions:
    """The probe's waits from the release's own timings: its heartbeat interval, and its heartbeat timeout
    (HEARTBEAT_TIMEOUT, else three intervals as Moleculer's 10 s / 30 s) as the discovery deadline; the nodes
    discovery waits for are ``expect``'s pods."""
    interval = _heartbeat_interval(topology, base.heartbeat_interval)
    timeout = _bus_seconds(topology, "HEARTBEAT_TIMEOUT") or base.heartbeat_timeout or interval * 3
    return nats_bus.BusProbeOptions(
        **{
            **base.__dict__,
            "namespace": expect.namespace,
            "heartbeat_interval": interval,
            "heartbeat_timeout": timeout,
            "expect": expect,
        }
    )


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
    kube: KubeClient | None = None,
    run_options: Options | None = None,
) -> tuple[dict[str, list[Finding]], str, list[Waited]]:
    """The bus probe through the release's NATS Service; for every pod whose node never answered, what the
    pod was doing (read through ``kube``) joins the findings."""
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
        return {nats_bus.RULE_REACHABLE: [finding]}, "(no NATS Service)", []
    service, port = target
    expectations = bus_expectations(state, ms_namespace)
    with PortForward(handle, state.namespace, service, port) as forward:
        url = _with_credentials(transporter or "nats://", "127.0.0.1", forward.local_port)
        observation = nats_bus.observe_bus_sync(url, bus_probe_options(topology, expectations, options))
    missed = sorted(
        pod
        for c in expectations.components
        for pod in c.pods or ()
        if pod not in {n.pod_name for n in observation.nodes.values()}
    )
    states = pod_states(kube, state.namespace, missed) if kube is not None and missed else {}
    findings = evaluate_probe(
        BusContext(observation, expectations, pod_states=states, options=run_options or Options())
    )
    return (
        findings,
        f"Service {state.namespace}/{service}:{port} (via {forward.what})",
        list(observation.waits),
    )


def _ingress_host(topology: Topology) -> str | None:
    routes = [r for r in topology.routes() if r.path.startswith("/websocket") or r.path.startswith("/sockjs")]
    routes = routes or topology.routes()
    return next((r.host for r in routes if r.host), None)


def route_backends(topology: Topology, state: LiveState | None) -> dict[str, str]:
    """What stands behind each WebSocket route of the Ingress: its Service and that Service's ready endpoints
    (the EndpointSlices of the snapshot), the evidence a failed handshake is reported with."""
    if state is None:
        return {}
    found: dict[str, str] = {}
    for route in WEBSOCKET_ROUTES:
        match = next((r for r in topology.routes() if r.path.rstrip("/") == route), None)
        if match is None:
            continue
        endpoints = state.endpoints(match.service)
        ready = sorted({e.pod or e.address for e in endpoints if e.ready})
        if match.service not in {svc.name for svc in state.topology.services}:
            found[route] = f"Service {match.service} (not in the cluster)"
        else:
            pods = ", ".join(ready) if ready else "none"
            found[route] = f"Service {match.service}: {len(ready)} ready endpoint(s) (pods: {pods})"
    return found


def _sync_budget(state: LiveState | None) -> float:
    """How long the controller may still take: INGRESS_SYNC_S from the Ingress's creation (a release whose
    rollout already took minutes has had that time), never less than INGRESS_SYNC_MIN_S from now."""
    created = []
    for ingress in state.of("Ingress") if state is not None else []:
        stamp = str((ingress.get("metadata") or {}).get("creationTimestamp") or "")
        try:
            created.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        except ValueError:
            continue
    if not created:
        return INGRESS_SYNC_S
    left = max(created) + INGRESS_SYNC_S - time.time()
    return min(INGRESS_SYNC_S, max(INGRESS_SYNC_MIN_S, left))


def probe_ddp(
    topology: Topology,
    targets: ProbeTargets,
    state: LiveState | None = None,
    run_options: Options | None = None,
) -> tuple[dict[str, list[Finding]], str, dict[str, str], Waited]:
    host = _ingress_host(topology) or "localhost"
    # http first; an Ingress with TLS may be served on https only (the certificate is the controller's own,
    # the chart's TLS Secret is not part of the release, so it is not verified)
    tries = []
    if targets.ingress_http_port:
        tries.append(
            (
                f"http://{host}",
                ddp.DdpProbeOptions(
                    connect_to=(targets.ingress_address, targets.ingress_http_port), timeout=DDP_STEP_S
                ),
                targets.ingress_http_port,
            )
        )
    if targets.ingress_https_port:
        tries.append(
            (
                f"https://{host}",
                ddp.DdpProbeOptions(
                    connect_to=(targets.ingress_address, targets.ingress_https_port),
                    insecure=True,
                    timeout=DDP_STEP_S,
                ),
                targets.ingress_https_port,
            )
        )

    # The ingress controller picks a new Ingress, and the endpoints behind it, up within seconds: until then a
    # route answers 404 (no route yet) or 502/503 (no endpoint yet). The condition: every WebSocket route of
    # one entry completes its DDP handshake (through whichever server); else, at the deadline, the last answers
    # are the verdict. A release that never answers costs the deadline; a correct one, its controller's sync.
    def complete(o: ddp.DdpObservation) -> bool:
        return all(o.route(r).connected for r in WEBSOCKET_ROUTES)

    start = time.monotonic()
    deadline = start + _sync_budget(state)
    while True:
        seen = []
        for base, options, port in tries:  # the first entry whose WebSocket routes answer DDP wins
            observation = ddp.observe_ddp_sync(base, options)
            seen.append((base, observation, port))
            if complete(observation):
                break
        base, observation, port = next(
            ((b, o, p) for b, o, p in seen if complete(o)),
            next(
                ((b, o, p) for b, o, p in seen if any(o.route(r).connected for r in WEBSOCKET_ROUTES)),
                seen[0],
            ),
        )
        done = complete(observation)
        if done or time.monotonic() >= deadline:
            break
        time.sleep(INGRESS_POLL_S)  # the poll's period; the condition and the deadline above decide
    pending = "; ".join(
        f"{r}: {observation.route(r).error or 'no DDP answer'}"
        for r in WEBSOCKET_ROUTES
        if not observation.route(r).connected
    )
    synced = Waited(
        "ingress routes the WebSocket paths", time.monotonic() - start, done, deadline - start, pending
    )
    findings = evaluate_probe(
        DdpContext(observation, options=run_options or Options(), backends=route_backends(topology, state))
    )
    answered = {
        route: observation.answered_by(route) if observation.route(route).connected else NOT_ANSWERED
        for route in WEBSOCKET_ROUTES
    }
    return (
        findings,
        f"{base} through the ingress controller at {targets.ingress_address}:{port}",
        answered,
        synced,
    )


def probe_release(
    handle: ClusterHandle,
    state: LiveState,
    topology: Topology,
    targets: ProbeTargets,
    say: Callable[[str], None] = lambda line: None,
    families: tuple[str, ...] = ("bus", "ws"),
    kube: KubeClient | None = None,
    options: Options | None = None,
) -> ProbeRun:
    """The probes (both by default) against one installed release; a probe that cannot run is an ERROR
    finding, not a pass. Each wait of the probes is on ``say`` and in the run's ``waits``. ``options``: the
    run's, whose waivers the engine attaches to the probes' findings."""
    findings: dict[str, list[Finding]] = {}
    where: dict[str, str] = {}
    answered: dict[str, str] = {}
    waits: list[Waited] = []

    def bus_probe() -> tuple[dict[str, list[Finding]], str]:
        found, target, waited = probe_bus(handle, state, topology, kube=kube, run_options=options)
        waits.extend(waited)
        return found, target

    def ddp_probe() -> tuple[dict[str, list[Finding]], str]:
        found, target, by, synced = probe_ddp(topology, targets, state, run_options=options)
        answered.update(by)
        waits.append(synced)
        return found, target

    probes: dict[str, Callable[[], tuple[dict[str, list[Finding]], str]]] = {
        "bus": bus_probe,
        "ws": ddp_probe,
    }
    for family, run in ((f, probes[f]) for f in families):
        start = time.monotonic()
        before = len(waits)
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
        for wait in waits[before:]:
            say(f"wait: {wait.line()}")
        failed = sorted(r for r, fs in found.items() if any(f.failed for f in fs))
        say(
            f"{family} probe via {target}: {'FAILED ' + ', '.join(failed) if failed else 'ok'} "
            f"in {time.monotonic() - start:.1f}s"
        )
    return ProbeRun(findings, where, answered, waits)


__all__ = [
    "ProbeRun",
    "ProbeTargets",
    "PortForward",
    "bus_expectations",
    "bus_probe_options",
    "probe_release",
]
