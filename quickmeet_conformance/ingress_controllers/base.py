"""What every ingress controller model answers, and the path and host matching they share.

An Ingress says which paths exist; the controller named by its class decides which one serves a request
(the Kubernetes API leaves ``ImplementationSpecific`` and the order of overlapping rules partly to it). Each
controller module implements :class:`IngressController` from that controller's own documentation and cites
it: :meth:`~IngressController.select` answers "which path serves this request", and
:meth:`~IngressController.websocket_needs` lists what the controller documents a WebSocket needs (timeouts,
annotations) that the rendered objects lack. Models read only rendered objects (data): no cluster, no helm.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..render import Manifest
from ..topology import IngressInfo, Route, Topology

# @rocket.chat/ddp-client TimeoutControl: a connection with no traffic is pinged after heartbeat = timeout / 2
# = 30 s (timeout 60 s). A proxy that drops idle or long-lived connections sooner cuts idle WebSockets.
DDP_HEARTBEAT_SECONDS = 30


@dataclass(frozen=True)
class IngressView:
    """One rendered Ingress with what the controllers read beyond the topology: annotations, its manifest."""

    info: IngressInfo
    annotations: Mapping[str, str] = field(default_factory=dict)
    manifest: Manifest | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def class_name(self) -> str | None:
        """``spec.ingressClassName``, else the legacy ``kubernetes.io/ingress.class`` annotation."""
        return self.info.class_name or self.info.class_annotation or None


def annotations_of(manifest: Manifest | None) -> dict[str, str]:
    """A rendered object's annotations as strings (as Kubernetes keeps them); {} when it has none."""
    meta = manifest.body.get("metadata") if manifest is not None else None
    raw = meta.get("annotations") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def ingress_views(topo: Topology) -> list[IngressView]:
    """Every Ingress of ``topo`` with its annotations (read from its manifest)."""
    views = []
    for info in topo.ingresses:
        manifest = next((m for m in topo.manifests if m.ref == f"Ingress/{info.name}"), None)
        views.append(IngressView(info, annotations_of(manifest), manifest))
    return views


@dataclass(frozen=True)
class Candidate:
    """A path of an Ingress: the route, the Ingress it belongs to, and its position in that Ingress's list."""

    ingress: IngressView
    route: Route
    position: int


@dataclass(frozen=True)
class Match:
    """The path a controller picks for a request, and why (in the controller's own terms)."""

    route: Route
    reason: str


@dataclass(frozen=True)
class Need:
    """Something the controller documents a WebSocket needs that the rendered release lacks."""

    message: str
    resource: str  # e.g. Ingress/rocketchat, Service/rocketchat-ddp-streamer
    field_path: str  # e.g. metadata.annotations[nginx.ingress.kubernetes.io/proxy-read-timeout]
    citation: str
    expected: str = ""
    found: str = ""


def host_matches(rule_host: str, host: str) -> bool:
    """An Ingress rule's host covers ``host``: no host (all), the same name, or a one-label wildcard."""
    if not rule_host or rule_host == host:
        return True
    return (
        rule_host.startswith("*.")
        and host.endswith(rule_host[1:])
        and host.count(".") == rule_host.count(".")
    )


def element_prefix(rule_path: str, request: str) -> bool:
    """Kubernetes ``Prefix``: element-wise, trailing slash ignored (/foo matches /foo and /foo/bar, not /foobar)."""
    trimmed = (rule_path or "/").rstrip("/")
    return not trimmed or request == trimmed or request.startswith(trimmed + "/")


def string_prefix(rule_path: str, request: str) -> bool:
    """A plain string prefix (nginx ``location /foo``, HAProxy ``path_beg``): /foo also matches /foobar."""
    return request.startswith(rule_path or "/")


def exact(rule_path: str, request: str) -> bool:
    return request == (rule_path or "/")


def typed_match(c: Candidate, request: str, implementation_specific: Callable[[str, str], bool]) -> bool:
    """``c`` serves ``request``: ``Exact`` and ``Prefix`` as the API defines them, any other path type by the
    controller's own ``implementation_specific`` matcher (path, request)."""
    path = c.route.path or "/"
    if c.route.path_type == "Exact":
        return exact(path, request)
    if c.route.path_type == "Prefix":
        return element_prefix(path, request)
    return implementation_specific(path, request)


def matched_length(route: Route) -> int:
    """How much of a request the path matches, for precedence: a ``Prefix`` path without its trailing slash."""
    path = route.path or "/"
    return len(path.rstrip("/")) if route.path_type == "Prefix" else len(path)


def candidates(ingresses: Sequence[IngressView], host: str) -> list[Candidate]:
    """Every path of ``ingresses`` whose rule host covers ``host``, in the order the Ingresses list them."""
    found = []
    for ingress in ingresses:
        for position, route in enumerate(ingress.info.routes):
            if host_matches(route.host, host):
                found.append(Candidate(ingress, route, position))
    return found


_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(value: Any, default_unit: str = "s") -> float | None:
    """``"3600"``, ``"60s"``, ``"5m"``, ``"1h"`` as seconds; None when it is not a duration."""
    match = _SECONDS.match(str(value))
    if not match:
        return None
    return float(match.group(1)) * _UNIT[match.group(2) or default_unit]


class IngressController:
    """One ingress controller's documented routing. Subclasses set the class attributes and ``select``."""

    key: ClassVar[str]  # registry key, e.g. "ingress-nginx"
    title: ClassVar[str]  # how reports name it, e.g. "ingress-nginx"
    class_names: ClassVar[tuple[str, ...]] = ()  # the IngressClass names its installs use by default
    controller_ids: ClassVar[tuple[str, ...]] = ()  # IngressClass spec.controller values it answers to
    citation: ClassVar[str]  # where its path matching and precedence are documented

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        """The path that serves ``request`` on ``host`` among ``ingresses`` (all of this controller's class)."""
        raise NotImplementedError

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        """What the controller documents WebSockets need on ``ws_routes`` and ``ingress`` lacks (default: none)."""
        return []

    def why_not(self, route: Route, request: str) -> str:
        """Why ``route`` (whose path names the request's own path) does not serve ``request``: one phrase."""
        if route.path_type == "Exact":
            return f"the {route.path} path is pathType Exact, which matches {route.path} only"
        return f"{self.title} does not match {request} against {route.path} (pathType {route.path_type})"


def longest(matches: list[tuple[tuple[Any, ...], Candidate]], reason: str) -> Match | None:
    """The candidate with the highest sort key (ties: the one listed first), as a :class:`Match`."""
    if not matches:
        return None
    best = max(matches, key=lambda pair: pair[0])[1]  # max keeps the first of equal keys
    return Match(best.route, reason)


def is_exact(route: Route) -> int:
    return 1 if route.path_type == "Exact" else 0


def most_specific(
    ingresses: Sequence[IngressView],
    host: str,
    request: str,
    why: str,
    *,
    implementation_specific: Callable[[str, str], bool] = string_prefix,
    rank: Callable[[Route], int] = is_exact,
) -> Match | None:
    """The matching path of the highest ``rank`` (default: Exact paths first), then the longest, whatever the
    listed order (ties: the one listed first). An Exact match is as long as the request and no other match is
    longer, so this is also "the longest, Exact first on a tie"."""
    matches = [
        ((rank(c.route), matched_length(c.route)), c)
        for c in candidates(ingresses, host)
        if typed_match(c, request, implementation_specific)
    ]
    return longest(matches, why)


def idle_timeout_needs(
    ingress: IngressView, key: str, title: str, doc: str, *, unit: str, label: str, default: str
) -> list[Need]:
    """The need when annotation ``key`` (a duration, ``unit`` when it has none) closes idle WebSockets sooner
    than the DDP heartbeat; ``label`` and ``default`` say what is expected."""
    value = ingress.annotations.get(key)
    limit = seconds(value, unit) if value is not None else None
    if limit is None or limit >= DDP_HEARTBEAT_SECONDS:
        return []
    return [
        Need(
            f"Ingress/{ingress.name} sets {key} to {value}: {title} closes a WebSocket idle for {limit:g} s, "
            f"shorter than the DDP heartbeat ({DDP_HEARTBEAT_SECONDS} s)",
            f"Ingress/{ingress.name}",
            f"metadata.annotations[{key}]",
            doc,
            expected=f"{label} of at least {DDP_HEARTBEAT_SECONDS} s (default {default})",
            found=f"{key}: {value}",
        )
    ]
