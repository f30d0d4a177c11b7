"""What the NATS bus probe saw, as frozen data: the nodes on the Moleculer bus, their heartbeats, pongs and
protocol versions. No I/O here (``client.py`` does it) and no judgement (the probe lane's rules, in
``probes/rules/bus.py``, do it); the rule ids live here because the observation itself reports a failed
connection or a foreign protocol version under them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ...findings import Finding
from ...progress import Waited

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


def frozen_map(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(sorted(data.items())))


@dataclass(frozen=True)
class BusObservation:
    url: str  # credentials redacted
    prefix: str
    probe_id: str
    connected: bool
    nodes: Mapping[str, BusNode] = field(default_factory=lambda: frozen_map({}))
    heartbeats: Mapping[str, int] = field(default_factory=lambda: frozen_map({}))  # nodeID -> count
    pongs: Mapping[str, float] = field(default_factory=lambda: frozen_map({}))  # nodeID -> round trip ms
    pinged: tuple[str, ...] = ()
    versions: Mapping[str, str] = field(default_factory=lambda: frozen_map({}))  # any sender -> its `ver`
    errors: tuple[Finding, ...] = ()  # the probe could not (fully) run: unreachable, auth, version
    heartbeat_window: float = 0.0  # seconds actually listened for heartbeats
    heartbeat_interval: float = 10.0
    packets_read: int = 0
    truncated: bool = False  # the packet cap was hit: counts may be low
    malformed: int = 0  # packets that were not JSON objects
    waits: tuple[Waited, ...] = ()  # each wait of the probe: discovery, ping, heartbeats
    unanswered: tuple[str, ...] = ()  # what discovery still missed at its deadline (pods, counts, nodes)
    discover_broadcasts: int = 0  # broadcast DISCOVERs sent (re-sent while a node was missing)
    discover_targeted: tuple[str, ...] = ()  # nodes sent their own DISCOVER (seen beating, not on INFO)

    def waited(self, what: str) -> Waited | None:
        return next((w for w in self.waits if w.what == what), None)

    def discovery_note(self) -> str:
        """Why a node may be missing: how long discovery waited and what it still missed (or '')."""
        wait = self.waited("bus discovery")
        if wait is None or wait.met:
            return ""
        return (
            f"discovery re-sent DISCOVER {self.discover_broadcasts} time(s) for {wait.seconds:.1f} s "
            f"(its deadline, the heartbeat timeout) and never heard from: {', '.join(self.unanswered)}"
        )

    def nodes_announcing(self, *names: str) -> list[BusNode]:
        return [n for n in self.nodes.values() if any(n.announces(name) for name in names)]
