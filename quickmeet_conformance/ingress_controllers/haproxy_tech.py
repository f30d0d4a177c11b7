"""The HAProxy Kubernetes Ingress Controller (haproxytech/kubernetes-ingress), class ``haproxy``.

Paths (https://www.haproxy.com/documentation/kubernetes-ingress/community/configuration-reference/ingress/):
``Exact`` matches the path only, ``Prefix`` the path and the elements below it, and ``ImplementationSpecific``
is a plain beginning-of-path match (HAProxy ``path_beg``: /sockjs also matches /sockjsx). Exact paths are looked
up first, then the longest matching prefix serves the request, whatever the listed order.

WebSockets: once a connection is upgraded HAProxy applies ``timeout tunnel`` (the controller's default
configuration sets 1 h); ``haproxy.org/timeout-tunnel`` on the Ingress lowers it for its backends.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..topology import Route, Topology
from .base import IngressController, IngressView, Match, Need, idle_timeout_needs, most_specific
from .registry import register

TUNNEL = "haproxy.org/timeout-tunnel"
ANNOTATIONS_DOC = (
    "https://www.haproxy.com/documentation/kubernetes-ingress/community/configuration-reference/ingress/"
)


def tunnel_needs(ingress: IngressView, key: str, title: str, doc: str) -> list[Need]:
    """``timeout tunnel`` (milliseconds when it has no unit) below the DDP heartbeat cuts idle WebSockets."""
    return idle_timeout_needs(ingress, key, title, doc, unit="ms", label=key, default="1 h")


@register
class HaproxyTech(IngressController):
    key = "haproxy-kubernetes-ingress"
    title = "the HAProxy Kubernetes Ingress Controller"
    class_names = ("haproxy",)
    controller_ids = ("haproxy.org/ingress-controller", "haproxy.org/ingress-controller/haproxy")
    citation = ANNOTATIONS_DOC

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        return most_specific(ingresses, host, request, "an Exact path, else the longest matching prefix")

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        return tunnel_needs(ingress, TUNNEL, self.title, ANNOTATIONS_DOC + "#timeout-tunnel")
