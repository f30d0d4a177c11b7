"""The NATS bus probe: what is on the Moleculer bus of a running release, observed safely.

Split along its jobs: ``model`` (the frozen observation and the rule ids), ``client`` (the NATS I/O:
connect, DISCOVER, PING, heartbeats), ``expectations`` (what the release implies should be on the bus).
The rules that judge an observation are the probe lane's engine rules (``probes/rules/bus.py``),
evaluated on a :class:`~quickmeet_conformance.probes.context.BusContext`. This package names the probe's
public parts in one place.
"""

from __future__ import annotations

from .client import BusProbeOptions, observe_bus, observe_bus_sync
from .expectations import (
    COMPONENT_SERVICES,
    MONOLITH,
    STREAM_HUB,
    BusExpectations,
    ComponentExpectation,
    counts_from_topology,
    parse_bus_expect,
    presence_only_counts,
)
from .model import (
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
    BusNode,
    BusObservation,
    new_probe_id,
    pod_name_of,
    redact_url,
    subject_prefix,
)

__all__ = [
    "COMPONENT_SERVICES",
    "MONOLITH",
    "PROTOCOL_VERSION",
    "RULE_HEARTBEATS",
    "RULE_HUB_SINGLE",
    "RULE_MONOLITH_NOT_DUPLICATING",
    "RULE_NODE_COUNT",
    "RULE_NODE_MAPS_TO_POD",
    "RULE_PING_PONG",
    "RULE_PROTOCOL",
    "RULE_REACHABLE",
    "RULE_SERVICE_ANNOUNCED",
    "STREAM_HUB",
    "BusExpectations",
    "BusNode",
    "BusObservation",
    "BusProbeOptions",
    "ComponentExpectation",
    "counts_from_topology",
    "new_probe_id",
    "observe_bus",
    "observe_bus_sync",
    "parse_bus_expect",
    "pod_name_of",
    "presence_only_counts",
    "redact_url",
    "subject_prefix",
]
