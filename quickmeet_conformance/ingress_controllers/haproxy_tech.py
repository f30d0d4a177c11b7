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
from .base import (
    DDP_HEARTBEAT_SECONDS,
    IngressController,
    IngressView,
    Match,
    Need,
    candidates,
    element_prefix,
    exact,
    longest,
    seconds,
    string_prefix,
)
from .registry import register

TUNNEL = "haproxy.org/timeout-tunnel"
ANNOTATIONS_DOC = (
    "https://www.haproxy.com/documentation/kubernetes-ingress/community/configuration-reference/ingress/"
)


def select_prefix_first(ingresses: Sequence[IngressView], host: str, request: str, why: str) -> Match | None:
    """Exact paths first, then the longest matching prefix (Prefix element-wise, else a string prefix)."""
    matches = []
    for c in candidates(ingresses, host):
        path = c.route.path or "/"
        if c.route.path_type == "Exact":
            if exact(path, request):
                matches.append(((1, len(path)), c))
        elif c.route.path_type == "Prefix":
            if element_prefix(path, request):
                matches.append(((0, len(path.rstrip("/"))), c))
        elif string_prefix(path, request):
            matches.append(((0, len(path)), c))
    return longest(matches, why)


def tunnel_needs(ingress: IngressView, key: str, title: str, doc: str) -> list[Need]:
    value = ingress.annotations.get(key)
    limit = seconds(value, "ms") if value is not None else None
    if limit is None or limit >= DDP_HEARTBEAT_SECONDS:
        return []
    return [
        Need(
            f"Ingress/{ingress.name} sets {key} to {value}: {title} closes a WebSocket idle for {limit:g} s, "
            f"shorter than the DDP heartbeat ({DDP_HEARTBEAT_SECONDS} s)",
            f"Ingress/{ingress.name}",
            f"metadata.annotations[{key}]",
            doc,
            expected=f"{key} of at least {DDP_HEARTBEAT_SECONDS} s (default 1 h)",
            found=f"{key}: {value}",
        )
    ]


@register
class HaproxyTech(IngressController):
    key = "haproxy-kubernetes-ingress"
    title = "the HAProxy Kubernetes Ingress Controller"
    class_names = ("haproxy",)
    controller_ids = ("haproxy.org/ingress-controller", "haproxy.org/ingress-controller/haproxy")
    citation = ANNOTATIONS_DOC

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        return select_prefix_first(
            ingresses, host, request, "an Exact path, else the longest matching prefix"
        )

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        return tunnel_needs(ingress, TUNNEL, self.title, ANNOTATIONS_DOC + "#timeout-tunnel")
