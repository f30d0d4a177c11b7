"""The NATS bus probe: what is on the Moleculer bus of a running release, observed safely.

Two halves, as everywhere in this package: :func:`observe_bus` does the I/O (connect, DISCOVER, PING,
listen) and returns a frozen :class:`BusObservation`; the ``rule_*`` functions are pure and turn an
observation plus :class:`BusExpectations` into findings.

Safety (CONTRACT.md > On the bus): the probe uses a unique node id (``qmc-probe-<hex>``), publishes
exactly one DISCOVER and one PING per discovered node, and never publishes INFO or HEARTBEAT, so no
live node can mistake it for a node-id conflict. Every wait is bounded in time and in packets read.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from ..findings import Finding, Verdict, passed, skipped

PROTOCOL_VERSION = "4"  # Moleculer 0.14

RULE_REACHABLE = "bus.reachable"
RULE_PROTOCOL = "bus.protocol-version"
RULE_SERVICE_ANNOUNCED = "bus.service-announced"
RULE_NODE_COUNT = "bus.node-count-matches-pods"
RULE_HUB_SINGLE = "bus.hub-single"
RULE_MONOLITH_NOT_DUPLICATING = "bus.monolith-not-duplicating"
RULE_HEARTBEATS = "bus.heartbeats"
RULE_PING_PONG = "bus.ping-pong"
RULE_NODE_MAPS_TO_POD = "bus.node-maps-to-pod"

_POD_SUFFIX = re.compile(r"-\d+$")


def subject_prefix(namespace: str = "") -> str:
    """``MOL``, or ``MOL-<ns>`` when the services run with ``MS_NAMESPACE`` set."""
    return f"MOL-{namespace}" if namespace else "MOL"


def pod_name_of(node_id: str) -> str:
    """The pod a node id belongs to: Moleculer's default nodeID is ``<hostname>-<pid>``."""
    return _POD_SUFFIX.sub("", node_id)


def new_probe_id() -> str:
    return f"qmc-probe-{secrets.token_hex(6)}"


def redact_url(url: str) -> str:
    """The URL without its password, fit for a finding or a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------------------------- observe


@dataclass(frozen=True)
class BusProbeOptions:
    namespace: str = ""
    probe_id: str = ""  # default: a fresh qmc-probe-<hex>
    connect_timeout: float = 5.0
    discover_window: float = 3.0  # longest wait for INFO replies
    discover_settle: float = 1.0  # stop earlier once no new INFO came for this long
    ping_timeout: float = 2.0
    heartbeat_interval: float = 10.0  # the release's heartbeatInterval (Moleculer default 10 s)
    heartbeat_intervals: float = 2.0  # listen for up to this many intervals
    max_packets: int = 5000

    @property
    def heartbeat_window(self) -> float:
        return self.heartbeat_interval * self.heartbeat_intervals

    @property
    def time_budget(self) -> float:
        """An upper bound on the whole probe; the probe aborts past it."""
        return (
            self.connect_timeout * 2 + self.discover_window + self.ping_timeout + self.heartbeat_window + 5.0
        )


@dataclass(frozen=True)
class BusNode:
    node_id: str
    services: tuple[str, ...]  # service names from INFO, internal ($node) included
    hostname: str
    instance_id: str
    protocol_version: str
    client: str = ""  # e.g. "nodejs 0.14.36"

    @property
    def pod_name(self) -> str:
        return pod_name_of(self.node_id)

    def announces(self, name: str) -> bool:
        return name in self.services


def _frozen_map(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(sorted(data.items())))


@dataclass(frozen=True)
class BusObservation:
    url: str  # credentials redacted
    prefix: str
    probe_id: str
    connected: bool
    nodes: Mapping[str, BusNode] = field(default_factory=lambda: _frozen_map({}))
    heartbeats: Mapping[str, int] = field(default_factory=lambda: _frozen_map({}))  # nodeID -> count
    pongs: Mapping[str, float] = field(default_factory=lambda: _frozen_map({}))  # nodeID -> round trip ms
    pinged: tuple[str, ...] = ()
    versions: Mapping[str, str] = field(default_factory=lambda: _frozen_map({}))  # any sender -> its `ver`
    errors: tuple[Finding, ...] = ()  # the probe could not (fully) run: unreachable, auth, version
    heartbeat_window: float = 0.0  # seconds actually listened for heartbeats
    heartbeat_interval: float = 10.0
    packets_read: int = 0
    truncated: bool = False  # the packet cap was hit: counts may be low
    malformed: int = 0  # packets that were not JSON objects

    def nodes_announcing(self, *names: str) -> list[BusNode]:
        return [n for n in self.nodes.values() if any(n.announces(name) for name in names)]


class _Collector:
    """Mutable state filled by the subscription callbacks; frozen into a BusObservation at the end."""

    def __init__(self, prefix: str, probe_id: str, max_packets: int) -> None:
        self.prefix = prefix
        self.probe_id = probe_id
        self.max_packets = max_packets
        self.nodes: dict[str, BusNode] = {}
        self.heartbeats: dict[str, int] = {}
        self.pongs: dict[str, float] = {}
        self.ping_ids: dict[str, str] = {}  # ping id -> nodeID
        self.versions: dict[str, str] = {}
        self.packets = 0
        self.truncated = False
        self.malformed = 0
        self.last_info = 0.0
        self.changed = asyncio.Event()

    def _payload(self, data: bytes) -> dict[str, Any] | None:
        try:
            payload = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("sender"), str):
            self.malformed += 1
            return None
        return payload

    async def on_message(self, msg: Any) -> None:
        if self.packets >= self.max_packets:
            self.truncated = True
            return
        self.packets += 1
        payload = self._payload(msg.data)
        if payload is None:
            return
        sender: str = payload["sender"]
        if sender == self.probe_id:
            return
        self.versions[sender] = str(payload.get("ver", ""))
        kind = msg.subject[len(self.prefix) + 1 :].split(".", 1)[0]
        if kind == "INFO":
            services = payload.get("services") or []
            names = tuple(
                s["name"] for s in services if isinstance(s, dict) and isinstance(s.get("name"), str)
            )
            client = payload.get("client") or {}
            self.nodes[sender] = BusNode(
                node_id=sender,
                services=names,
                hostname=str(payload.get("hostname", "")),
                instance_id=str(payload.get("instanceID", "")),
                protocol_version=str(payload.get("ver", "")),
                client=f"{client.get('type', '')} {client.get('version', '')}".strip()
                if isinstance(client, dict)
                else "",
            )
            self.last_info = time.monotonic()
        elif kind == "HEARTBEAT":
            self.heartbeats[sender] = self.heartbeats.get(sender, 0) + 1
        elif kind == "PONG":
            sent_ms = payload.get("time")
            if self.ping_ids.get(str(payload.get("id"))) == sender and isinstance(sent_ms, (int, float)):
                self.pongs[sender] = max(0.0, time.time() * 1000 - sent_ms)
        self.changed.set()

    async def next_packet(self, deadline: float) -> bool:
        """Wait for the next packet or the monotonic ``deadline``; False when the deadline passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), timeout=remaining)
            return True
        except asyncio.TimeoutError:
            return False

    async def wait_until(self, deadline: float, done: Callable[[], bool]) -> None:
        """Wait until ``done()`` holds or the monotonic ``deadline`` passes, waking on every packet."""
        while not done():
            if not await self.next_packet(deadline):
                return

    async def wait_for_infos(self, deadline: float, settle: float) -> None:
        """Collect INFO replies until ``deadline``, or earlier once none came for ``settle`` seconds."""
        while True:
            now = time.monotonic()
            if now >= deadline or (self.nodes and now - self.last_info >= settle):
                return
            await self.next_packet(min(deadline, self.last_info + settle) if self.nodes else deadline)


def _error(rule_id: str, message: str, **kw: Any) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.ERROR, message=message, **kw)


def _connect_error_finding(url: str, exc: BaseException | None, last_error: BaseException | None) -> Finding:
    text = " ".join(str(e) for e in (exc, last_error) if e is not None)
    if "authorization violation" in text.lower() or type(exc).__name__ == "AuthorizationError":
        return _error(
            RULE_REACHABLE,
            f"NATS at {url} refused the probe: authorization violation (the server needs credentials: "
            "pass them in the URL, nats://user:password@host:4222, as the TRANSPORTER secret does)",
            expected="a NATS connection",
            found="Authorization Violation",
            resource=url,
        )
    cause = last_error if isinstance(last_error, OSError) else exc
    reason = (
        (f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__) if cause else "no answer"
    )
    if isinstance(exc, asyncio.TimeoutError) and not isinstance(last_error, OSError):
        reason = "timed out"
    return _error(
        RULE_REACHABLE,
        f"NATS at {url} is unreachable ({reason})",
        expected="a NATS connection",
        found=reason,
        resource=url,
    )


async def observe_bus(url: str, options: BusProbeOptions | None = None) -> BusObservation:
    """Connect to the NATS at ``url`` and observe the Moleculer bus: never raises for network trouble,
    which comes back as ERROR findings in ``errors``."""
    opts = options or BusProbeOptions()
    try:
        return await asyncio.wait_for(_observe(url, opts), timeout=opts.time_budget)
    except asyncio.TimeoutError:  # belt and braces: every step below has its own bound
        return BusObservation(
            url=redact_url(url),
            prefix=subject_prefix(opts.namespace),
            probe_id=opts.probe_id,
            connected=False,
            errors=(
                _error(
                    RULE_REACHABLE,
                    f"the bus probe of {redact_url(url)} overran its {opts.time_budget:.0f} s budget",
                ),
            ),
        )


async def _observe(url: str, opts: BusProbeOptions) -> BusObservation:
    from ..extras import require_live

    require_live("nats", what="the NATS bus probe")
    import nats  # imported here so the pure rules work without nats-py installed
    import nats.errors

    shown_url = redact_url(url)
    prefix = subject_prefix(opts.namespace)
    probe_id = opts.probe_id or new_probe_id()
    last_error: list[BaseException] = []

    async def on_error(exc: Exception) -> None:
        last_error.append(exc)

    async def on_disconnect() -> None:  # nats-py logs unless given callbacks
        pass

    try:
        nc = await asyncio.wait_for(
            nats.connect(
                url,
                name=probe_id,
                connect_timeout=opts.connect_timeout,
                # nats-py retries for ever with max_reconnect_attempts=0; 1 means "try once more, then stop".
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                closed_cb=on_disconnect,
            ),
            timeout=opts.connect_timeout * 2,
        )
    except (OSError, asyncio.TimeoutError, nats.errors.Error) as exc:
        return BusObservation(
            url=shown_url,
            prefix=prefix,
            probe_id=probe_id,
            connected=False,
            errors=(_connect_error_finding(shown_url, exc, last_error[-1] if last_error else None),),
        )

    col = _Collector(prefix, probe_id, opts.max_packets)
    pinged: list[str] = []
    flush_s = cast(
        int, opts.connect_timeout
    )  # nats-py annotates int seconds; a float works (asyncio.wait_for)
    try:
        for subject in (f"{prefix}.INFO.{probe_id}", f"{prefix}.PONG.{probe_id}", f"{prefix}.HEARTBEAT"):
            await nc.subscribe(subject, cb=col.on_message, pending_msgs_limit=opts.max_packets)
        await nc.flush(timeout=flush_s)
        started = time.monotonic()
        heartbeat_deadline = started + opts.heartbeat_window

        await nc.publish(
            f"{prefix}.DISCOVER", json.dumps({"ver": PROTOCOL_VERSION, "sender": probe_id}).encode()
        )
        await nc.flush(timeout=flush_s)
        await col.wait_for_infos(started + opts.discover_window, opts.discover_settle)

        for node_id in sorted(col.nodes):
            ping_id = str(uuid.uuid4())
            col.ping_ids[ping_id] = node_id
            pinged.append(node_id)
            ping = {
                "ver": PROTOCOL_VERSION,
                "sender": probe_id,
                "time": int(time.time() * 1000),
                "id": ping_id,
            }
            await nc.publish(f"{prefix}.PING.{node_id}", json.dumps(ping).encode())
        if pinged:
            await nc.flush(timeout=flush_s)
            await col.wait_until(
                time.monotonic() + opts.ping_timeout, lambda: all(n in col.pongs for n in pinged)
            )

        await col.wait_until(
            heartbeat_deadline,
            lambda: bool(col.nodes) and all(col.heartbeats.get(n, 0) > 0 for n in col.nodes),
        )
        listened = time.monotonic() - started
    except (OSError, asyncio.TimeoutError, nats.errors.Error) as exc:
        return BusObservation(
            url=shown_url,
            prefix=prefix,
            probe_id=probe_id,
            connected=False,
            errors=(
                _error(
                    RULE_REACHABLE,
                    f"NATS at {shown_url} failed during the probe ({type(exc).__name__}: {exc})",
                ),
            ),
        )
    finally:
        try:
            await asyncio.wait_for(nc.close(), timeout=opts.connect_timeout)
        except (OSError, asyncio.TimeoutError, nats.errors.Error):
            pass

    errors = [
        _error(
            RULE_PROTOCOL,
            f"node {sender} speaks Moleculer protocol version {ver!r}, the probe and QuickMeet.Chat's "
            f"Moleculer 0.14 speak {PROTOCOL_VERSION!r}: a service built on another Moleculer major is on the bus",
            expected=f'ver "{PROTOCOL_VERSION}"',
            found=f'ver "{ver}"',
            resource=f"node/{sender}",
        )
        for sender, ver in sorted(col.versions.items())
        if ver != PROTOCOL_VERSION
    ]
    return BusObservation(
        url=shown_url,
        prefix=prefix,
        probe_id=probe_id,
        connected=True,
        nodes=_frozen_map(col.nodes),
        heartbeats=_frozen_map(col.heartbeats),
        pongs=_frozen_map(col.pongs),
        pinged=tuple(pinged),
        versions=_frozen_map(col.versions),
        errors=tuple(errors),
        heartbeat_window=round(listened, 3),
        heartbeat_interval=opts.heartbeat_interval,
        packets_read=col.packets,
        truncated=col.truncated,
        malformed=col.malformed,
    )


def observe_bus_sync(url: str, options: BusProbeOptions | None = None) -> BusObservation:
    """:func:`observe_bus` for callers without an event loop (pytest tests, the CLI)."""
    return asyncio.run(observe_bus(url, options))


# ---------------------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class ComponentExpectation:
    component: str  # "ddp-streamer"
    service: str  # the Moleculer service that must be announced: "streamer"
    nodes: int | None  # expected node count; None = unknown (count not checked)
    aliases: tuple[str, ...] = ()  # other service names that also mark a node as this component
    pods: frozenset[str] | None = None  # pod names when known (live cluster); None in --nats-url mode

    @property
    def names(self) -> tuple[str, ...]:
        return (self.service, *self.aliases)


# component -> (service, aliases); CONTRACT.md > Components, "Moleculer service name on NATS".
COMPONENT_SERVICES: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "monolith": ("license", ("meteor",)),
        "authorization": ("authorization", ()),
        "accounts": ("accounts", ()),
        "presence": ("presence", ()),
        "ddp-streamer": ("streamer", ()),
        "stream-hub": ("hub", ()),
    }
)
MONOLITH = "monolith"
STREAM_HUB = "stream-hub"


@dataclass(frozen=True)
class BusExpectations:
    components: tuple[ComponentExpectation, ...]
    namespace: str = ""

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int | None],
        *,
        pods: Mapping[str, Iterable[str]] | None = None,
        namespace: str = "",
    ) -> BusExpectations:
        """Expectations from ``{component: expected nodes}`` (components from :data:`COMPONENT_SERVICES`),
        with pod names per component when a live cluster told us."""
        unknown = sorted(set(counts) - set(COMPONENT_SERVICES))
        if unknown:
            raise ValueError(
                f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENT_SERVICES)}"
            )
        items = []
        for component, count in counts.items():
            service, aliases = COMPONENT_SERVICES[component]
            pod_names = frozenset(pods[component]) if pods is not None and component in pods else None
            if count is None and pod_names is not None:
                count = len(pod_names)
            items.append(ComponentExpectation(component, service, count, aliases, pod_names))
        return cls(tuple(items), namespace)

    def get(self, component: str) -> ComponentExpectation | None:
        return next((c for c in self.components if c.component == component), None)

    @property
    def pods_known(self) -> bool:
        return any(c.pods is not None for c in self.components)


# ------------------------------------------------------------------------------------------------ rules


def _ids(nodes: Iterable[BusNode | str]) -> str:
    names = sorted(n.node_id if isinstance(n, BusNode) else n for n in nodes)
    return ", ".join(names) if names else "none"


def _cannot_check(obs: BusObservation, rule_id: str) -> list[Finding] | None:
    """ERROR findings when the probe never reached the bus: no rule can say pass or fail then."""
    if obs.connected:
        return None
    reason = obs.errors[0].message if obs.errors else f"no connection to {obs.url}"
    return [_error(rule_id, f"not checked: {reason}", resource=obs.url)]


def _fail(rule_id: str, message: str, **kw: Any) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.FAIL, message=message, **kw)


def rule_bus_reachable(obs: BusObservation) -> list[Finding]:
    """The probe connected to NATS (CONTRACT.md > Components: nats, client port 4222)."""
    if not obs.connected:
        return [f for f in obs.errors if f.rule_id == RULE_REACHABLE] or [
            _error(RULE_REACHABLE, f"NATS at {obs.url} is unreachable")
        ]
    return [
        passed(
            RULE_REACHABLE, f"NATS at {obs.url} accepted the probe ({obs.prefix}, probe id {obs.probe_id})"
        )
    ]


def rule_protocol_version(obs: BusObservation) -> list[Finding]:
    """Every packet on the bus carries ``ver: "4"`` (CONTRACT.md > On the bus: Moleculer 0.14 protocol "4")."""
    if (blocked := _cannot_check(obs, RULE_PROTOCOL)) is not None:
        return blocked
    mismatched = [f for f in obs.errors if f.rule_id == RULE_PROTOCOL]
    return mismatched or [
        passed(
            RULE_PROTOCOL,
            f"all {len(obs.versions)} senders on {obs.prefix} speak protocol {PROTOCOL_VERSION!r}",
        )
    ]


def rule_service_announced(obs: BusObservation, exp: BusExpectations) -> list[Finding]:
    """Every expected component's Moleculer service is announced by some node (CONTRACT.md > Components)."""
    if (blocked := _cannot_check(obs, RULE_SERVICE_ANNOUNCED)) is not None:
        return blocked
    findings = []
    for c in exp.components:
        if c.nodes == 0:
            continue
        announcing = obs.nodes_announcing(c.service)
        if announcing:
            findings.append(
                passed(
                    RULE_SERVICE_ANNOUNCED,
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
            _fail(
                RULE_SERVICE_ANNOUNCED,
                f"{c.component}: no node on {obs.prefix} announces service {c.service!r}{extra}; "
                f"nodes that answered DISCOVER: {_ids(obs.nodes.values())}",
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


def rule_node_count_matches_pods(obs: BusObservation, exp: BusExpectations) -> list[Finding]:
    """Each component has as many bus nodes as pods (replicas) (CONTRACT.md > On the bus: nodeID is the pod)."""
    if (blocked := _cannot_check(obs, RULE_NODE_COUNT)) is not None:
        return blocked
    findings = []
    for c in exp.components:
        if c.nodes is None:
            findings.append(skipped(RULE_NODE_COUNT, f"{c.component}: expected node count unknown"))
            continue
        announcing = obs.nodes_announcing(*c.names)
        found = len(announcing)
        if found == c.nodes:
            findings.append(
                passed(
                    RULE_NODE_COUNT,
                    f"{c.component}: {found} node(s) announce {c.service!r} as expected ({_ids(announcing)})",
                )
            )
        else:
            findings.append(
                _fail(
                    RULE_NODE_COUNT,
                    f"{c.component}: expected {c.nodes} node(s) announcing {c.service!r}, "
                    f"found {found} ({_ids(announcing)})",
                    expected=str(c.nodes),
                    found=f"{found}: {_ids(announcing)}",
                    resource=f"component/{c.component}",
                )
            )
    return findings


def rule_hub_single(obs: BusObservation, exp: BusExpectations | None = None) -> list[Finding]:
    """At most one node announces ``hub`` (CONTRACT.md > Components: stream-hub NEVER more than one pod)."""
    if (blocked := _cannot_check(obs, RULE_HUB_SINGLE)) is not None:
        return blocked
    service = COMPONENT_SERVICES[STREAM_HUB][0]
    hubs = obs.nodes_announcing(service)
    if len(hubs) <= 1:
        return [passed(RULE_HUB_SINGLE, f"{len(hubs)} node(s) announce {service!r}: {_ids(hubs)}")]
    return [
        _fail(
            RULE_HUB_SINGLE,
            f"{len(hubs)} nodes announce {service!r} ({_ids(hubs)}): stream-hub must never run more than one "
            "pod, every MongoDB change would be broadcast more than once",
            expected="at most 1 node",
            found=f"{len(hubs)}: {_ids(hubs)}",
            resource=f"component/{STREAM_HUB}",
        )
    ]


def rule_monolith_not_duplicating(obs: BusObservation, exp: BusExpectations) -> list[Finding]:
    """The monolith does not also run the services that the microservice pods took over
    (CONTRACT.md > Components: "in microservices mode the other services are taken over by the pods below";
    server code starts them locally only when TRANSPORTER is not nats://)."""
    if (blocked := _cannot_check(obs, RULE_MONOLITH_NOT_DUPLICATING)) is not None:
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
                _fail(
                    RULE_MONOLITH_NOT_DUPLICATING,
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
                RULE_MONOLITH_NOT_DUPLICATING,
                f"{len(monoliths)} monolith node(s) ({_ids(monoliths)}) announce none of "
                f"{', '.join(sorted(taken_over)) or 'the microservices'}",
            )
        )
    return findings


def rule_heartbeats(obs: BusObservation, exp: BusExpectations | None = None) -> list[Finding]:
    """Every discovered node sends HEARTBEAT within two intervals (CONTRACT.md > On the bus: heartbeat every
    10 s, timeout 30 s)."""
    if (blocked := _cannot_check(obs, RULE_HEARTBEATS)) is not None:
        return blocked
    if not obs.nodes:
        return [
            skipped(RULE_HEARTBEATS, f"no node answered DISCOVER on {obs.prefix}: no heartbeat to expect")
        ]
    silent = [n for n in obs.nodes if obs.heartbeats.get(n, 0) == 0]
    if not silent:
        return [
            passed(
                RULE_HEARTBEATS,
                f"all {len(obs.nodes)} node(s) sent HEARTBEAT within {obs.heartbeat_window:.1f} s",
            )
        ]
    note = " (the packet cap was hit: counts may be low)" if obs.truncated else ""
    return [
        _fail(
            RULE_HEARTBEATS,
            f"node {n} answered DISCOVER but sent no HEARTBEAT in {obs.heartbeat_window:.1f} s "
            f"(heartbeat interval {obs.heartbeat_interval:g} s): its peers will drop it as dead{note}",
            expected=f">= 1 HEARTBEAT per {obs.heartbeat_interval:g} s",
            found="none",
            resource=f"node/{n}",
        )
        for n in silent
    ]


def rule_ping_pong(obs: BusObservation, exp: BusExpectations | None = None) -> list[Finding]:
    """Every discovered node answers PING with PONG (CONTRACT.md > On the bus: per-node PING/PONG subjects)."""
    if (blocked := _cannot_check(obs, RULE_PING_PONG)) is not None:
        return blocked
    if not obs.pinged:
        return [skipped(RULE_PING_PONG, f"no node answered DISCOVER on {obs.prefix}: nothing to ping")]
    mute = [n for n in obs.pinged if n not in obs.pongs]
    if not mute:
        slowest = max(obs.pongs.values())
        return [
            passed(RULE_PING_PONG, f"all {len(obs.pinged)} node(s) answered PING (slowest {slowest:.0f} ms)")
        ]
    return [
        _fail(
            RULE_PING_PONG,
            f"node {n} did not answer PING on {obs.prefix}.PING.{n}",
            expected="PONG",
            found="no answer",
            resource=f"node/{n}",
        )
        for n in mute
    ]


def rule_node_maps_to_pod(obs: BusObservation, exp: BusExpectations) -> list[Finding]:
    """Each component's nodes are its pods: nodeID = ``<pod name>-<pid>`` (CONTRACT.md > On the bus)."""
    if (blocked := _cannot_check(obs, RULE_NODE_MAPS_TO_POD)) is not None:
        return blocked
    if not exp.pods_known:
        return [
            skipped(
                RULE_NODE_MAPS_TO_POD, "pod names unknown (--nats-url mode): only node counts are checked"
            )
        ]
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
                _fail(
                    RULE_NODE_MAPS_TO_POD,
                    f"{c.component}: node {node_id} announces {c.service!r} but is none of its pods "
                    f"({', '.join(sorted(c.pods)) or 'no pods'}): another release or a stale process shares the bus",
                    expected=f"one of {', '.join(sorted(c.pods))}",
                    found=pod_name_of(node_id),
                    resource=f"node/{node_id}",
                )
            )
        for pod in absent:
            findings.append(
                _fail(
                    RULE_NODE_MAPS_TO_POD,
                    f"{c.component}: pod {pod} has no node on {obs.prefix} announcing {c.service!r} "
                    f"(nodes seen: {_ids(nodes)})",
                    expected=f"a node {pod}-<pid>",
                    found="none",
                    resource=f"Pod/{pod}",
                )
            )
        if not strangers and not absent:
            findings.append(
                passed(
                    RULE_NODE_MAPS_TO_POD,
                    f"{c.component}: every node is one of its pods and every pod is on the bus",
                )
            )
    return findings


BUS_RULES = (
    rule_service_announced,
    rule_node_count_matches_pods,
    rule_hub_single,
    rule_monolith_not_duplicating,
    rule_heartbeats,
    rule_ping_pong,
    rule_node_maps_to_pod,
)


def evaluate_bus(obs: BusObservation, exp: BusExpectations) -> list[Finding]:
    """Every bus rule over one observation: connection and protocol first, then the topology rules."""
    findings = rule_bus_reachable(obs)
    if not obs.connected:
        return findings
    findings += rule_protocol_version(obs)
    for check in BUS_RULES:
        findings += check(obs, exp)
    return findings


__all__ = [
    "BUS_RULES",
    "BusExpectations",
    "BusNode",
    "BusObservation",
    "BusProbeOptions",
    "COMPONENT_SERVICES",
    "ComponentExpectation",
    "evaluate_bus",
    "new_probe_id",
    "observe_bus",
    "observe_bus_sync",
    "pod_name_of",
    "redact_url",
    "rule_bus_reachable",
    "rule_heartbeats",
    "rule_hub_single",
    "rule_monolith_not_duplicating",
    "rule_node_count_matches_pods",
    "rule_node_maps_to_pod",
    "rule_ping_pong",
    "rule_protocol_version",
    "rule_service_announced",
    "subject_prefix",
]
