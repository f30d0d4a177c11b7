"""Live topology: each values file installed on the cluster, then what the API server and its controllers
made of it (CONTRACT.md > Components, Wiring). One test per rule; the case is installed once."""

import pytest

pytestmark = [pytest.mark.live, pytest.mark.conformance]


def test_workloads_available(live_check):
    """Every component runs "one container each" with the replicas the values configure
    (CONTRACT.md > Components; Values contract: replicaCount, microservices.<service>.replicas)."""
    live_check("live.workloads-available")


def test_service_endpoints(live_check):
    """Every Service has ready EndpointSlice endpoints on pods of its own component
    (CONTRACT.md > Wiring, naming: <release>-ddp-streamer, -presence, ...; NATS Service <release>-nats)."""
    live_check("live.service-endpoints")


def test_websocket_ingress_reaches_ddp_streamer(live_check):
    """ "/websocket and /sockjs (pathType Prefix) must go to the ddp-streamer Service, port named http"
    (CONTRACT.md > Wiring): the backends resolve to ready ddp-streamer endpoints."""
    live_check("live.ingress-websocket-endpoints")


def test_transporter_reaches_nats(live_check):
    """ "The host in TRANSPORTER must be a Service that exists, exposes that port, and selects the NATS pods"
    (CONTRACT.md > Wiring): it resolves to the NATS Service's ready endpoints."""
    live_check("live.transporter-endpoints")


def test_no_drift_from_the_release(live_check):
    """The live objects are what the release applied: replicas and images come from the values
    (CONTRACT.md > Values contract), not from hand edits."""
    live_check("live.drift")
