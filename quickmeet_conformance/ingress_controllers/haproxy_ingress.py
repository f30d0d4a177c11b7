"""HAProxy Ingress (jcmoraisjr/haproxy-ingress), class ``haproxy`` (shared with the HAProxy Kubernetes Ingress
Controller: an Ingress of class ``haproxy`` is judged by both, and a difference between them is reported).

Paths (https://haproxy-ingress.github.io/docs/configuration/keys/#path-type): ``Exact`` and ``Prefix`` as the
API defines them; ``ImplementationSpecific`` follows the ``path-type`` key, ``begin`` (a plain
beginning-of-path match) by default. Exact paths win, then the longest matching path, whatever the listed order.

WebSockets (https://haproxy-ingress.github.io/docs/configuration/keys/#timeout): an upgraded connection lives
under ``timeout-tunnel`` (1 h by default), which ``haproxy-ingress.github.io/timeout-tunnel`` lowers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..topology import Route, Topology
from .base import IngressController, IngressView, Match, Need, most_specific
from .haproxy_tech import tunnel_needs
from .registry import register

TUNNEL = "haproxy-ingress.github.io/timeout-tunnel"


@register
class HaproxyIngress(IngressController):
    key = "haproxy-ingress"
    title = "HAProxy Ingress"
    class_names = ("haproxy",)
    controller_ids = ("haproxy-ingress.github.io/controller",)
    citation = "https://haproxy-ingress.github.io/docs/configuration/keys/#path-type"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        return most_specific(ingresses, host, request, "an Exact path, else the longest matching path")

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        return tunnel_needs(
            ingress, TUNNEL, self.title, "https://haproxy-ingress.github.io/docs/configuration/keys/#timeout"
        )
