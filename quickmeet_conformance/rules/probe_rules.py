"""The protocol-probe rules (lane ``probes``): registered like every rule, so ``conformance explain``, the
JSON report, JUnit and SARIF know them, and the suites cite no contract line of their own.

They judge an observation of a running release (``probes/nats_bus.py``: the Moleculer bus over NATS;
``probes/ddp.py``: WebSockets through the ingress), not a Context: ``probes`` evaluates them. Here each one
has its id, severity, contract citation and fix.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..findings import Finding
from .engine import Rule, RuleContext, rule

_NATS = "pass --nats-url of the release's NATS (with the TRANSPORTER credentials)"


def _probed(ctx: RuleContext, r: Rule) -> Iterable[Finding]:
    yield r.skip("a probe rule: evaluated from an observation of a running release, not from a render")


def _probe_rule(rule_id: str, *, title: str, contract: str, fix: str, basis: str = "doc") -> None:
    rule(rule_id, title=title, contract=contract, fix=fix, basis=basis, needs_render=False, lane="probes")(
        _probed
    )


_probe_rule(
    "bus.reachable",
    title="the probe connects to the release's NATS",
    contract="CONTRACT.md > Components: nats (the bus itself), client port 4222",
    fix=f"check the NATS Service, its port 4222 and credentials; {_NATS}",
)
_probe_rule(
    "bus.protocol-version",
    title='every packet on the bus carries ver: "4"',
    contract='CONTRACT.md > On the bus: Moleculer 0.14 protocol "4"; payloads carry ver: "4"',
    fix="run every service on the same Moleculer 0.14 release (one image tag for all components)",
    basis="server code",
)
_probe_rule(
    "bus.service-announced",
    title="every expected component's Moleculer service is announced on the bus",
    contract="CONTRACT.md > Components: Moleculer service name on NATS",
    fix="check the component's pod is running with TRANSPORTER pointing at this NATS and MS_NAMESPACE matching",
    basis="server code",
)
_probe_rule(
    "bus.node-count-matches-pods",
    title="each component has as many bus nodes as pods",
    contract="CONTRACT.md > On the bus: nodeID is <hostname>-<pid> (one node per pod)",
    fix="find the pods that are not on the bus (TRANSPORTER, licence) or extra nodes from another release",
    basis="server code",
)
_probe_rule(
    "bus.hub-single",
    title="at most one node announces the stream-hub service",
    contract="CONTRACT.md > Components: stream-hub, NEVER more than one pod per deployment",
    fix="set microservices.streamHub.replicas to 1 and use a Recreate rollout (maxSurge 0)",
)
_probe_rule(
    "bus.monolith-not-duplicating",
    title="the monolith does not also run the services the microservice pods took over",
    contract="CONTRACT.md > Components: in microservices mode the other services are taken over by the pods",
    fix="give the monolith TRANSPORTER nats://... (not monolith+nats://) with microservices.enabled: true",
    basis="server code",
)
_probe_rule(
    "bus.heartbeats",
    title="every discovered node sends HEARTBEAT within two intervals",
    contract="CONTRACT.md > On the bus: Heartbeat every 10 s, timeout 30 s by default",
    fix="check the silent node's pod (CPU starvation, a blocked event loop) or pass --bus-heartbeat-interval",
    basis="server code",
)
_probe_rule(
    "bus.ping-pong",
    title="every discovered node answers PING with PONG",
    contract="CONTRACT.md > On the bus: per node MOL.{PING,PONG}.<nodeID>",
    fix="check the node that did not answer (its pod's logs) and that nothing else shares its nodeID",
    basis="server code",
)
_probe_rule(
    "bus.node-maps-to-pod",
    title="each component's bus nodes are its pods (nodeID = <pod name>-<pid>)",
    contract="CONTRACT.md > On the bus: nodeID is the pod name plus -1 in containers",
    fix="find the process on the bus that is no pod of the release (another release sharing NATS?)",
    basis="server code",
)
_probe_rule(
    "ws.websocket-handshake",
    title="raw DDP on /websocket: server_id, connect -> connected, ping -> pong",
    contract="CONTRACT.md > ddp-streamer on the wire: /websocket is raw DDP; connect -> connected",
    fix="route /websocket (Prefix) to the ddp-streamer Service port http and allow WebSocket upgrades",
    basis="server code",
)
_probe_rule(
    "ws.sockjs-handshake",
    title='SockJS on /sockjs/...: "o", a["..."] frames, connect -> connected',
    contract='CONTRACT.md > ddp-streamer on the wire: /sockjs/... uses SockJS framing (o, then a["..."])',
    fix="route /sockjs (Prefix) to the ddp-streamer Service port http and allow WebSocket upgrades",
    basis="server code",
)
_probe_rule(
    "ws.reaches-ddp-streamer",
    title="/websocket and /sockjs reach ddp-streamer, not the monolith",
    contract="CONTRACT.md > Wiring: Ingress /websocket and /sockjs (Prefix) -> ddp-streamer Service, port http",
    fix="point the ingress paths /websocket and /sockjs at <release>-ddp-streamer, port http (3000)",
)
