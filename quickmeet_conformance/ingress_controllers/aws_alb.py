"""The AWS Load Balancer Controller, class ``alb``: an Application Load Balancer whose listener rules are
evaluated in priority order, the first rule that matches serving the request.

Rule order (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/spec/):
"Beginning from v2.4.3 of the AWS LBC, rules are ordered as follows: pathType: Exact paths are always ordered
first, followed by pathType: Prefix paths, with the longest prefix first, followed by pathType:
ImplementationSpecific paths, in the order they are listed in the manifest." An ``ImplementationSpecific`` path
is an ALB path pattern: ``*`` matches any characters, anything else must match exactly (``/*`` takes every
request). Ingresses of one IngressGroup (``alb.ingress.kubernetes.io/group.name``) share the ALB; their rules
follow ``alb.ingress.kubernetes.io/group.order`` (default 0), then the Ingresses' names
(https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/#ingressgroup).
Before v2.4.3 every path kept the listed order.

WebSockets: the ALB closes a connection idle longer than its idle timeout (60 s by default), set with
``alb.ingress.kubernetes.io/load-balancer-attributes: idle_timeout.timeout_seconds=<n>``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from ..topology import Route, Topology
from .base import (
    DDP_HEARTBEAT_SECONDS,
    Candidate,
    IngressController,
    IngressView,
    Match,
    Need,
    candidates,
    typed_match,
)
from .registry import register

GROUP_ORDER = "alb.ingress.kubernetes.io/group.order"
ATTRIBUTES = "alb.ingress.kubernetes.io/load-balancer-attributes"
ANNOTATIONS_DOC = (
    "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/"
)
_TYPE_RANK = {"Exact": 0, "Prefix": 1}  # everything else (ImplementationSpecific) ranks 2, in listed order


def _group_order(ingress: IngressView) -> int:
    value = ingress.annotations.get(GROUP_ORDER, "0").strip()
    return int(value) if value.lstrip("-").isdigit() else 0


def pattern_matches(pattern: str, request: str) -> bool:
    """An ALB path pattern: ``*`` any characters, ``?`` one, otherwise exact (case-sensitive)."""
    return fnmatch.fnmatchcase(request, pattern or "/")


def _matches(c: Candidate, request: str) -> bool:
    return typed_match(c, request, pattern_matches)


def rule_order(found: list[Candidate]) -> list[Candidate]:
    """The listener rules in the order the ALB evaluates them (controller v2.4.3 and later)."""

    def key(c: Candidate) -> tuple[int, str, int, int, int]:
        rank = _TYPE_RANK.get(c.route.path_type, 2)
        length = -len((c.route.path or "/").rstrip("/")) if rank == 1 else 0
        return (_group_order(c.ingress), c.ingress.name, rank, length, c.position)

    return sorted(found, key=key)


@register
class AwsLoadBalancer(IngressController):
    key = "aws-load-balancer"
    title = "the AWS Load Balancer Controller"
    class_names = ("alb",)
    controller_ids = ("ingress.k8s.aws/alb",)
    citation = "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/spec/"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        for c in rule_order(candidates(ingresses, host)):
            if _matches(c, request):
                return Match(
                    c.route,
                    "the first listener rule that matches (Exact, longest Prefix, then "
                    "ImplementationSpecific in listed order)",
                )
        return None

    def why_not(self, route: Route, request: str) -> str:
        if route.path_type not in ("Exact", "Prefix") and "*" not in route.path:
            return (
                f"the {route.path} path is ImplementationSpecific, an ALB path pattern without '*': it matches "
                f"{route.path} exactly, not {request}"
            )
        if route.path_type not in ("Exact", "Prefix"):
            return "an ImplementationSpecific rule listed before it matches first (the ALB takes the first match)"
        return super().why_not(route, request)

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        return self._listed_order_needs(ingress, ws_routes) + self._idle_timeout_needs(ingress)

    def _listed_order_needs(self, ingress: IngressView, ws_routes: Sequence[Route]) -> list[Need]:
        """Controllers before v2.4.3 keep the listed order: a path listed before a WebSocket path that also
        matches its requests takes them there (the ALB serves the first matching rule)."""
        needs = []
        listed = [Candidate(ingress, r, i) for i, r in enumerate(ingress.info.routes)]
        for ws in ws_routes:
            request = (ws.path or "/").rstrip("/*") or "/"
            first = next((c for c in listed if _matches(c, request)), None)
            if first is not None and first.route.path != ws.path and first.route.service != ws.service:
                needs.append(
                    Need(
                        f"Ingress/{ingress.name} lists {first.route.path} ({first.route.path_type}) before {ws.path}: "
                        f"the AWS Load Balancer Controller before v2.4.3 keeps the listed order, so there "
                        f"{first.route.path} takes {request} (v2.4.3 and later order Exact, then the longest Prefix)",
                        f"Ingress/{ingress.name}",
                        f"spec.rules[host={ws.host or '*'}].http.paths[path={first.route.path}]",
                        self.citation,
                        expected=f"{ws.path} before {first.route.path}, or controller v2.4.3 or later",
                        found=f"{first.route.path} listed first",
                    )
                )
        return needs

    def _idle_timeout_needs(self, ingress: IngressView) -> list[Need]:
        attributes = ingress.annotations.get(ATTRIBUTES, "")
        for item in attributes.split(","):
            key, _, value = item.partition("=")
            if key.strip() == "idle_timeout.timeout_seconds" and value.strip().isdigit():
                if int(value) < DDP_HEARTBEAT_SECONDS:
                    return [
                        Need(
                            f"Ingress/{ingress.name} sets the ALB idle timeout to {value.strip()} s: the ALB closes "
                            f"a WebSocket idle that long, shorter than the DDP heartbeat ({DDP_HEARTBEAT_SECONDS} s)",
                            f"Ingress/{ingress.name}",
                            f"metadata.annotations[{ATTRIBUTES}]",
                            ANNOTATIONS_DOC + "#load-balancer-attributes",
                            expected=f"idle_timeout.timeout_seconds of at least {DDP_HEARTBEAT_SECONDS} (default 60)",
                            found=f"idle_timeout.timeout_seconds={value.strip()}",
                        )
                    ]
        return []
