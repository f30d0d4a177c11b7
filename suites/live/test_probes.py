"""The protocol probes against each installed values file, on clusters whose pods really run (``--cluster
kind``): the Moleculer bus through the release's NATS Service and DDP through the release's Ingress and the
cluster's ingress controller. Skipped, with the reason, on KWOK (no container runs there)."""

import pytest

pytestmark = [pytest.mark.live, pytest.mark.probes, pytest.mark.conformance]


def test_bus_reachable(live_probe_check):
    """ "nats ... client port 4222" (CONTRACT.md > Components): the release's NATS Service accepts the
    credentials of the TRANSPORTER URL the chart gave the pods."""
    live_probe_check("bus.reachable")


def test_bus_service_announced(live_probe_check):
    """ "Moleculer service name on NATS" per component (CONTRACT.md > Components): every component that runs
    announces its service on the release's bus (a wrong TRANSPORTER host leaves them off it)."""
    live_probe_check("bus.service-announced")


def test_bus_node_count_matches_pods(live_probe_check):
    """ "nodeID is <hostname>-<pid>" (CONTRACT.md > On the bus): one bus node per running pod of each
    component, so a ddp-streamer pod that never joined the bus is caught."""
    live_probe_check("bus.node-count-matches-pods")


def test_bus_node_maps_to_pod(live_probe_check):
    """ "nodeID is <hostname>-<pid>, i.e. the pod name plus -1 in containers" (CONTRACT.md > On the bus):
    each node is one of its component's pods in this release."""
    live_probe_check("bus.node-maps-to-pod")


def test_bus_hub_single(live_probe_check):
    """ "stream-hub ... NEVER more than one pod per deployment" (CONTRACT.md > Components): at most one hub node."""
    live_probe_check("bus.hub-single")


def test_bus_heartbeats(live_probe_check):
    """ "Heartbeat every 10 s, timeout 30 s by default" (CONTRACT.md > On the bus): every node beats."""
    live_probe_check("bus.heartbeats")


def test_bus_ping_pong(live_probe_check):
    """Per-node subjects "MOL.{...,PING,PONG}.<nodeID>" (CONTRACT.md > On the bus): every node answers PING."""
    live_probe_check("bus.ping-pong")


def test_websocket_handshake(live_probe_check):
    """ "/websocket ... must go to the ddp-streamer Service" (CONTRACT.md > Wiring): a DDP connect through the
    ingress on /websocket gets "connected"."""
    live_probe_check("ws.websocket-handshake")


def test_sockjs_handshake(live_probe_check):
    """ "/sockjs (pathType Prefix) must go to the ddp-streamer Service" (CONTRACT.md > Wiring): a DDP connect
    through the ingress on /sockjs/.../websocket gets "connected"."""
    live_probe_check("ws.sockjs-handshake")


def test_websocket_reaches_ddp_streamer(live_probe_check):
    """ "ddp-streamer on the wire" (CONTRACT.md): the answer comes from ddp-streamer ("ms": true in
    /sockjs/info, UUID sessions), not from the monolith."""
    live_probe_check("ws.reaches-ddp-streamer")
