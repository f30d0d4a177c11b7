"""The NATS bus probe's rules (lane ``probes``): each judges a :class:`~quickmeet_conformance.probes.context.BusContext`
(what the probe saw on the Moleculer bus, and what the release implies should be there).

When the probe never reached the bus every rule but ``bus.reachable`` is an ERROR ("not checked"), never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...findings import Finding
from ...probes.context import BusContext
from ...probes.nats_bus import (
    COMPONENT_SERVICES,
    MONOLITH,
    PROTOCOL_VERSION,
    RULE_HEARTBEATS,
    RULE_HUB_SINGLE,
    RULE_MONOLITH_NOT_DUPLICATING,
    RULE_NODE_COUNT,
    RULE_NODE_MAPS_TO_POD,
    RULE_PING_PONG,
    RULE_PROTOCOL,
    RULE_REACHABLE,
    RULE_SERVICE_ANNOUNCED,
    STREAM_HUB,
    BusNode,
    BusObservation,
    pod_name_of,
)
from ...rules.engine import Rule
from .lane import errored, failed, passed, probe_rule, skipped

_NATS = "pass --nats-url of the release's NATS (with the TRANSPORTER credentials)"


def _ids(nodes: Iterable[BusNode | str]) -> str:
    names = sorted(n.node_id if isinstance(n, BusNode) else n for n in nodes)
    return ", ".join(names) if names else "none"


def _why_missing(ctx: BusContext, pods: Iterable[str] = ()) -> str:
    """What the probe knows about nodes it missed: the pods' states and how long discovery waited ('' when
    discovery got every answer it waited for)."""
    states = [f"pod {p}: {ctx.pod_states[p]}" for p in sorted(pods) if p in ctx.pod_states]
    note = ctx.observation.discovery_note()
    return "".join(f"; {part}" for part in (*states, note) if part)


def _cannot_check(obs: BusObservation, r: Rule) -> list[Finding] | None:
    """ERROR findings when the probe never reached the bus: no rule can say pass or fail then."""
    if obs.connected:
        return None
    reason = obs.errors[0].message if obs.errors else f"no connection to {obs.url}"
    return [errored(r, f"not checked: {reason}", resource=obs.url)]


@probe_rule(
    RULE_REACHABLE,
    title="the probe connects to the release's NATS",
    contract="CONTRACT.md > Components: nats (the bus itself), client port 4222",
    fix=f"check the NATS Service, its port 4222 and credentials; {_NATS}",
)
def bus_reachable(ctx: BusContext, r: Rule) -> list[Finding]:
    """The probe connected to NATS (CONTRACT.md > Components: nats, client port 4222)."""
    obs = ctx.observation
    if not obs.connected:
        return [f for f in obs.errors if f.rule_id == RULE_REACHABLE] or [
            errored(r, f"NATS at {obs.url} is unreachable")
        ]
    return [passed(r, f"NATS at {obs.url} accepted the probe ({obs.prefix}, probe id {obs.probe_id})")]


@probe_rule(
    RULE_PROTOCOL,
    title='every packet on the bus carries ver: "4"',
    contract='CONTRACT.md > On the bus: Moleculer 0.14 protocol "4"; payloads carry ver: "4"',
    fix="run every service on the same Moleculer 0.14 release (one image tag for all components)",
    basis="server code",
)
def protocol_version(ctx: BusContext, r: Rule) -> list[Finding]:
    """Every packet on the bus carries ``ver: "4"`` (CONTRACT.md > On the bus: Moleculer 0.14 protocol "4")."""
    obs = ctx.observation
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    mismatched = [f for f in obs.errors if f.rule_id == RULE_PROTOCOL]
    return mismatched or [
        passed(
            r,
            f"all {len(obs.versions)} senders on {obs.prefix} speak protocol {PROTOCOL_VERSION!r}",
        )
    ]


@probe_rule(
    RULE_SERVICE_ANNOUNCED,
    title="every expected component's Moleculer service is announced on the bus",
    contract="CONTRACT.md > Components: Moleculer service name on NATS",
    fix="check the component's pod is running with TRANSPORTER pointing at this NATS and MS_NAMESPACE matching",
    basis="server code",
)
def service_announced(ctx: BusContext, r: Rule) -> list[Finding]:
    """Every expected component's Moleculer service is announced by some node (CONTRACT.md > Components)."""
    obs, exp = ctx.observation, ctx.expectations
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    findings = []
    for c in exp.components:
        if c.nodes == 0:
            continue
        announcing = obs.nodes_announcing(c.service)
        if announcing:
            findings.append(
                passed(
                    r,
                    f"{c.component}: service {c.service!r} announced by {_ids(announcing)}",
                )
            )
            continue
        extra = ""
        if c.component == MONOLITH:
            extra = (
                " (every service depends on the monolith's license service: nothing is fully up without it)"
            )
        findings.append(
            failed(
                r,
                f"{c.component}: no node on {obs.prefix} announces service {c.service!r}{extra}; "
                f"nodes that answered DISCOVER: {_ids(obs.nodes.values())}{_why_missing(ctx, c.pods or ())}",
                expected=f"service {c.service!r} on >= 1 node",
                found="not announced",
                resource=f"component/{c.component}",
                evidence=(
                    (
                        "nodes",
                        "; ".join(
                            f"{n.node_id}: {', '.join(s for s in n.services if not s.startswith('$'))}"
                            for n in obs.nodes.values()
                        )
                        or "none",
                    ),
                ),
            )
        )
    return findings


@probe_rule(
    RULE_NODE_COUNT,
    title="each component has as many bus nodes as pods",
    contract="CONTRACT.md > On the bus: nodeID is <hostname>-<pid> (one node per pod)",
    fix="find the pods that are not on the bus (TRANSPORTER, licence) or extra nodes from another release",
    basis="server code",
)
def node_count_matches_pods(ctx: BusContext, r: Rule) -> list[Finding]:
    """Each component has as many bus nodes as pods (replicas) (CONTRACT.md > On the bus: nodeID is the pod)."""
    obs, exp = ctx.observation, ctx.expectations
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    findings = []
    for c in exp.components:
        if c.nodes is None:
            findings.append(skipped(r, f"{c.component}: expected node count unknown"))
            continue
        announcing = obs.nodes_announcing(*c.names)
        found = len(announcing)
        if found == c.nodes:
            findings.append(
                passed(
                    r,
                    f"{c.component}: {found} node(s) announce {c.service!r} as expected ({_ids(announcing)})",
                )
            )
        else:
            findings.append(
                failed(
                    r,
                    f"{c.component}: expected {c.nodes} node(s) announcing {c.service!r}, "
                    f"found {found} ({_ids(announcing)})"
                    + _why_missing(ctx, sorted((c.pods or set()) - {n.pod_name for n in announcing})),
                    expected=str(c.nodes),
                    found=f"{found}: {_ids(announcing)}",
                    resource=f"component/{c.component}",
                )
            )
    return findings


@probe_rule(
    RULE_HUB_SINGLE,
    title="at most one node announces the stream-hub service",
    contract="CONTRACT.md > Components: stream-hub, NEVER more than one pod per deployment",
    fix="set microservices.streamHub.replicas to 1 and use a Recreate rollout (maxSurge 0)",
)
def hub_single(ctx: BusContext, r: Rule) -> list[Finding]:
    """At most one node announces ``hub`` (CONTRACT.md > Components: stream-hub NEVER more than one pod)."""
    obs = ctx.observation
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    service = COMPONENT_SERVICES[STREAM_HUB][0]
    hubs = obs.nodes_announcing(service)
    if len(hubs) <= 1:
        return [passed(r, f"{len(hubs)} node(s) announce {service!r}: {_ids(hubs)}")]
    return [
        failed(
            r,
            f"{len(hubs)} nodes announce {service!r} ({_ids(hubs)}): stream-hub must never run more than one "
            "pod, every MongoDB change would be broadcast more than once",
            expected="at most 1 node",
            found=f"{len(hubs)}: {_ids(hubs)}",
            resource=f"component/{STREAM_HUB}",
        )
    ]


@probe_rule(
    RULE_MONOLITH_NOT_DUPLICATING,
    title="the monolith does not also run the services the microservice pods took over",
    contract="CONTRACT.md > Components: in microservices mode the other services are taken over by the pods",
    fix="give the monolith TRANSPORTER nats://... (not monolith+nats://) with microservices.enabled: true",
    basis="server code",
)
def monolith_not_duplicating(ctx: BusContext, r: Rule) -> list[Finding]:
    """The monolith does not also run the services that the microservice pods took over
    (CONTRACT.md > Components: "in microservices mode the other services are taken over by the pods below";
    server code starts them locally only when TRANSPORTER is not nats://)."""
    obs, exp = ctx.observation, ctx.expectations
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    mono = exp.get(MONOLITH)
    mono_names = mono.names if mono else (COMPONENT_SERVICES[MONOLITH][0], *COMPONENT_SERVICES[MONOLITH][1])
    taken_over = {c.service: c.component for c in exp.components if c.component != MONOLITH and c.nodes != 0}
    monoliths = obs.nodes_announcing(*mono_names)
    findings = []
    for node in monoliths:
        dup = sorted(s for s in node.services if s in taken_over)
        if dup:
            findings.append(
                failed(
                    r,
                    f"monolith node {node.node_id} also announces {', '.join(repr(s) for s in dup)}, which the "
                    f"{', '.join(taken_over[s] for s in dup)} pod(s) provide: the monolith is not in microservices "
                    "mode (TRANSPORTER should be nats://..., not monolith+nats://...)",
                    expected=f"none of {', '.join(sorted(taken_over))}",
                    found=", ".join(dup),
                    resource=f"node/{node.node_id}",
                )
            )
    if not findings:
        findings.append(
            passed(
                r,
                f"{len(monoliths)} monolith node(s) ({_ids(monoliths)}) announce none of "
                f"{', '.join(sorted(taken_over)) or 'the microservices'}",
            )
        )
    return findings


@probe_rule(
    RULE_HEARTBEATS,
    title="every discovered node sends HEARTBEAT within two intervals",
    contract="CONTRACT.md > On the bus: Heartbeat every 10 s, timeout 30 s by default",
    fix="check the silent node's pod (CPU starvation, a blocked event loop) or pass --bus-heartbeat-interval",
    basis="server code",
)
def heartbeats(ctx: BusContext, r: Rule) -> list[Finding]:
    """Every discovered node sends HEARTBEAT within two intervals (CONTRACT.md > On the bus: heartbeat every
    10 s, timeout 30 s)."""
    obs = ctx.observation
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    if not obs.nodes:
        return [skipped(r, f"no node answered DISCOVER on {obs.prefix}: no heartbeat to expect")]
    silent = [n for n in obs.nodes if obs.heartbeats.get(n, 0) == 0]
    if not silent:
        return [
            passed(
                r,
                f"all {len(obs.nodes)} node(s) sent HEARTBEAT within {obs.heartbeat_window:.1f} s",
            )
        ]
    note = " (the packet cap was hit: counts may be low)" if obs.truncated else ""
    return [
        failed(
            r,
            f"node {n} answered DISCOVER but sent no HEARTBEAT in {obs.heartbeat_window:.1f} s "
            f"(heartbeat interval {obs.heartbeat_interval:g} s): its peers will drop it as dead{note}",
            expected=f">= 1 HEARTBEAT per {obs.heartbeat_interval:g} s",
            found="none",
            resource=f"node/{n}",
        )
        for n in silent
    ]


@probe_rule(
    RULE_PING_PONG,
    title="every discovered node answers PING with PONG",
    contract="CONTRACT.md > On the bus: per node MOL.{PING,PONG}.<nodeID>",
    fix="check the node that did not answer (its pod's logs) and that nothing else shares its nodeID",
    basis="server code",
)
def ping_pong(ctx: BusContext, r: Rule) -> list[Finding]:
    """Every discovered node answers PING with PONG (CONTRACT.md > On the bus: per-node PING/PONG subjects)."""
    obs = ctx.observation
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    if not obs.pinged:
        return [skipped(r, f"no node answered DISCOVER on {obs.prefix}: nothing to ping")]
    mute = [n for n in obs.pinged if n not in obs.pongs]
    if not mute:
        slowest = max(obs.pongs.values())
        return [passed(r, f"all {len(obs.pinged)} node(s) answered PING (slowest {slowest:.0f} ms)")]
    return [
        failed(
            r,
            f"node {n} did not answer PING on {obs.prefix}.PING.{n}",
            expected="PONG",
            found="no answer",
            resource=f"node/{n}",
        )
        for n in mute
    ]


@probe_rule(
    RULE_NODE_MAPS_TO_POD,
    title="each component's bus nodes are its pods (nodeID = <pod name>-<pid>)",
    contract="CONTRACT.md > On the bus: nodeID is the pod name plus -1 in containers",
    fix="find the process on the bus that is no pod of the release (another release sharing NATS?)",
    basis="server code",
)
def node_maps_to_pod(ctx: BusContext, r: Rule) -> list[Finding]:
    """Each component's nodes are its pods: nodeID = ``<pod name>-<pid>`` (CONTRACT.md > On the bus)."""
    obs, exp = ctx.observation, ctx.expectations
    if (blocked := _cannot_check(obs, r)) is not None:
        return blocked
    if not exp.pods_known:
        return [skipped(r, "pod names unknown (--nats-url mode): only node counts are checked")]
    findings = []
    for c in exp.components:
        if c.pods is None:
            continue
        nodes = obs.nodes_announcing(*c.names)
        strangers = [n.node_id for n in nodes if n.pod_name not in c.pods]
        on_bus = {n.pod_name for n in nodes}
        absent = sorted(c.pods - on_bus)
        for node_id in strangers:
            findings.append(
                failed(
                    r,
                    f"{c.component}: node {node_id} announces {c.service!r} but is none of its pods "
                    f"({', '.join(sorted(c.pods)) or 'no pods'}): another release or a stale process shares the bus",
                    expected=f"one of {', '.join(sorted(c.pods))}",
                    found=pod_name_of(node_id),
                    resource=f"node/{node_id}",
                )
            )
        for pod in absent:
            findings.append(
                failed(
                    r,
                    f"{c.component}: pod {pod} has no node on {obs.prefix} announcing {c.service!r} "
                    f"(nodes seen: {_ids(nodes)}){_why_missing(ctx, [pod])}",
                    expected=f"a node {pod}-<pid>",
                    found="none",
                    resource=f"Pod/{pod}",
                )
            )
        if not strangers and not absent:
            findings.append(
                passed(
                    r,
                    f"{c.component}: every node is one of its pods and every pod is on the bus",
                )
            )
    return findings
