"""The Moleculer bus of a running release, observed by the NATS probe (CONTRACT.md > On the bus).

Needs --nats-url (or a live-cluster plugin providing ``nats_url``); skips otherwise.
"""

from __future__ import annotations

import pytest

from quickmeet_conformance.probes import nats_bus as bus

pytestmark = [pytest.mark.probes, pytest.mark.conformance]


def test_bus_reachable(bus_context, check_probe):
    """ "nats ... client port 4222" (CONTRACT.md > Components): the probe can connect, with the
    credentials of the TRANSPORTER URL when NATS requires them."""
    check_probe(bus_context, bus.RULE_REACHABLE)


def test_protocol_version(bus_context, check_probe):
    """ "Payloads are JSON-compatible (EJSON) objects with ver: "4"" (CONTRACT.md > On the bus)."""
    check_probe(bus_context, bus.RULE_PROTOCOL)


def test_service_announced(bus_context, check_probe):
    """ "Moleculer service name on NATS" per component: authorization, accounts, presence, streamer, hub,
    and the monolith's license (CONTRACT.md > Components; > On the bus: "Every service depends on the
    monolith's license service")."""
    check_probe(bus_context, bus.RULE_SERVICE_ANNOUNCED)


def test_node_count_matches_pods(bus_context, check_probe):
    """ "nodeID is <hostname>-<pid>, i.e. the pod name plus -1 in containers" (CONTRACT.md > On the bus):
    one bus node per pod, so the node count per service equals the replicas."""
    check_probe(bus_context, bus.RULE_NODE_COUNT)


def test_hub_single(bus_context, check_probe):
    """ "stream-hub ... NEVER more than one pod per deployment" (CONTRACT.md > Components)."""
    check_probe(bus_context, bus.RULE_HUB_SINGLE)


def test_monolith_not_duplicating(bus_context, check_probe):
    """ "in microservices mode the other services are taken over by the pods below" and
    "monolith+nats://... means the monolith is NOT in microservices mode" (CONTRACT.md > Components; > Wiring)."""
    check_probe(bus_context, bus.RULE_MONOLITH_NOT_DUPLICATING)


def test_heartbeats(bus_context, check_probe):
    """ "Heartbeat every 10 s, timeout 30 s by default" (CONTRACT.md > On the bus): every node that
    answers DISCOVER sends HEARTBEAT within two intervals."""
    check_probe(bus_context, bus.RULE_HEARTBEATS)


def test_ping_pong(bus_context, check_probe):
    """Per-node subjects "MOL.{...,PING,PONG}.<nodeID>" (CONTRACT.md > On the bus): every node answers PING."""
    check_probe(bus_context, bus.RULE_PING_PONG)


def test_node_maps_to_pod(bus_context, check_probe):
    """ "nodeID is <hostname>-<pid>, i.e. the pod name plus -1 in containers" (CONTRACT.md > On the bus):
    each node is one of its component's pods. Skips when pod names are unknown (--nats-url mode)."""
    check_probe(bus_context, bus.RULE_NODE_MAPS_TO_POD)
