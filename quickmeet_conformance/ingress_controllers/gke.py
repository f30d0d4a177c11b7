"""GKE Ingress (ingress-gce), classes ``gce`` and ``gce-internal``: a Google Cloud Application Load Balancer
whose URL map the controller builds from the Ingress.

Paths (https://cloud.google.com/kubernetes-engine/docs/concepts/ingress#paths): ``Exact`` matches the path only,
``Prefix`` the path and everything below it; ``ImplementationSpecific`` is a URL map path rule, where the only
wildcard is a ``*`` that ends the path after a ``/`` (``/sockjs/*``): without it the path matches itself
exactly, and ``/sockjs/*`` does not match ``/sockjs``. The URL map serves the most specific (longest) matching
path whatever the listed order; a request no path matches goes to the Ingress's default backend (404 when none).

WebSockets (https://cloud.google.com/load-balancing/docs/https#websocket_proxy_support and
https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration#timeout): the backend service
timeout, 30 s unless a BackendConfig (``timeoutSec``) attached to the Service says otherwise, is the longest a
WebSocket stays open, so the DDP session is cut every 30 s by default.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..topology import Route, Topology
from .base import (
    DDP_HEARTBEAT_SECONDS,
    Candidate,
    IngressController,
    IngressView,
    Match,
    Need,
    annotations_of,
    candidates,
    longest,
    typed_match,
)
from .registry import register

BACKEND_CONFIG_KEYS = ("cloud.google.com/backend-config", "beta.cloud.google.com/backend-config")
DEFAULT_TIMEOUT = 30
TIMEOUT_DOC = "https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration#timeout"


def url_map_matches(path: str, request: str) -> bool:
    """A URL map path rule: ``/foo/*`` matches below ``/foo/``; any other path matches itself only."""
    if path.endswith("/*"):
        return request.startswith(path[:-1])
    return request == path


def _matches(c: Candidate, request: str) -> bool:
    return typed_match(c, request, url_map_matches)


NOT_JUDGED = -1


def _backend_timeout(service: str, topo: Topology) -> tuple[int, str]:
    """(the backend service timeout in seconds, what it was read from); NOT_JUDGED when it cannot be read."""
    manifest = next((m for m in topo.manifests if m.kind == "Service" and m.name == service), None)
    annotations = annotations_of(manifest)
    raw = next((annotations[k] for k in BACKEND_CONFIG_KEYS if k in annotations), None)
    if raw is None:
        return DEFAULT_TIMEOUT, "no BackendConfig: the default"
    name = str(raw)
    if "{" in name:  # '{"default": "cfg"}' or '{"ports": {"http": "cfg"}}': take the first name given
        try:
            parsed = json.loads(name)
        except ValueError:
            return NOT_JUDGED, "a BackendConfig annotation that is not JSON"
        names = [v for v in parsed.values() if isinstance(v, str)] + [
            v for sub in parsed.values() if isinstance(sub, dict) for v in sub.values() if isinstance(v, str)
        ]
        name = names[0] if names else ""
    config = next((m for m in topo.manifests if m.kind == "BackendConfig" and m.name == name), None)
    if config is None:  # made outside the release: its timeout cannot be read here
        return NOT_JUDGED, f"BackendConfig {name}, made outside the release"
    spec = config.body.get("spec")
    timeout = spec.get("timeoutSec") if isinstance(spec, dict) else None
    return (int(timeout) if isinstance(timeout, int) else DEFAULT_TIMEOUT), f"BackendConfig {name}"


@register
class Gke(IngressController):
    key = "gke"
    title = "GKE Ingress (gce)"
    class_names = ("gce", "gce-internal")
    controller_ids = ("k8s.io/ingress-gce",)
    citation = "https://cloud.google.com/kubernetes-engine/docs/concepts/ingress#paths"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        matches = [
            ((len((c.route.path or "/").rstrip("*").rstrip("/")), c.route.path_type == "Exact"), c)
            for c in candidates(ingresses, host)
            if _matches(c, request)
        ]
        return longest(matches, "the URL map's most specific matching path")

    def why_not(self, route: Route, request: str) -> str:
        if route.path_type not in ("Exact", "Prefix"):
            return (
                f"the {route.path} path is ImplementationSpecific: on GKE a path without a trailing '/*' matches "
                f"itself only, so {request} misses it (use pathType Prefix, or {route.path.rstrip('/')}/* beside it)"
            )
        return super().why_not(route, request)

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        needs = []
        for service in sorted({r.service for r in ws_routes}):
            limit, read = _backend_timeout(service, topo)
            if limit != NOT_JUDGED and limit <= DDP_HEARTBEAT_SECONDS * 2:
                needs.append(
                    Need(
                        f"Service/{service} serves WebSockets through GKE Ingress/{ingress.name} with a backend "
                        f"service timeout of {limit} s ({read}): GKE closes every WebSocket after that long",
                        f"Service/{service}",
                        "metadata.annotations[cloud.google.com/backend-config]",
                        TIMEOUT_DOC,
                        expected=f"a BackendConfig with timeoutSec above {DDP_HEARTBEAT_SECONDS * 2} (hours for chat)",
                        found=f"{limit} s ({read})",
                    )
                )
        return needs
