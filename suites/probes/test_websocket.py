"""WebSockets through the release's ingress, observed by the DDP probe
(CONTRACT.md > ddp-streamer on the wire; > Wiring: Ingress).

Needs --ingress-url (or a live-cluster plugin providing ``ingress_url``); skips otherwise.
"""

from __future__ import annotations

import pytest

from quickmeet_conformance.probes import ddp

pytestmark = [pytest.mark.probes, pytest.mark.conformance]


def test_websocket_handshake(ddp_context, check_probe):
    """ "WebSocket /websocket is raw DDP"; "server first sends a server_id frame; client sends
    {"msg":"connect","version":"1","support":["1"]}; reply {"msg":"connected","session":...}"
    (CONTRACT.md > ddp-streamer on the wire)."""
    check_probe(ddp_context, ddp.RULE_WEBSOCKET_HANDSHAKE)


def test_sockjs_handshake(ddp_context, check_probe):
    """ "other paths under /sockjs/... use SockJS framing (o, then a["..."])"
    (CONTRACT.md > ddp-streamer on the wire)."""
    check_probe(ddp_context, ddp.RULE_SOCKJS_HANDSHAKE)


def test_reaches_ddp_streamer(ddp_context, check_probe):
    """ "/websocket and /sockjs (pathType Prefix) must go to the ddp-streamer Service" (CONTRACT.md > Wiring:
    Ingress), told apart by "ms": true, UUID sessions and connected-on-any-version
    (CONTRACT.md > ddp-streamer on the wire)."""
    check_probe(ddp_context, ddp.RULE_REACHES_DDP_STREAMER)
