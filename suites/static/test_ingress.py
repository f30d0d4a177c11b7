"""Ingress rules (CONTRACT.md > Wiring: Ingress)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_ingress_required_with_microservices(check):
    """ "Ingress: an ingress controller is required" (CONTRACT.md > Wiring)."""
    check("ingress.required")


def test_websocket_routes_to_ddp_streamer(check):
    """ "/websocket and /sockjs (pathType Prefix) must go to the ddp-streamer Service, port named http (3000)"
    (CONTRACT.md > Wiring)."""
    check("ingress.websocket-to-ddp-streamer")


def test_root_routes_to_monolith(check):
    """ "/ goes to the monolith" (CONTRACT.md > Wiring)."""
    check("ingress.root-to-monolith")


def test_ingress_class_named(check):
    """ "Without ingressClassName the cluster needs a default IngressClass" (CONTRACT.md > Wiring)."""
    check("ingress.class")


def test_tls_covers_host(check):
    """ "TLS hosts should cover host" (CONTRACT.md > Wiring)."""
    check("ingress.tls-covers-host")


def test_ingress_controller_known(check):
    """ "Which controller serves an Ingress follows from ingressClassName" (CONTRACT.md > Ingress controllers
    route differently): a class no model knows is said to be unknown."""
    check("ingress.controller-known")


def test_websocket_controller_needs(check):
    """WebSocket needs the serving controller documents (CONTRACT.md > Ingress controllers route differently)."""
    check("ingress.websocket-controller-needs")
