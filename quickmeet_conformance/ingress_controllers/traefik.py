"""Traefik's Kubernetes Ingress provider, class ``traefik``.

Each path of an Ingress becomes a router (https://doc.traefik.io/traefik/routing/providers/kubernetes-ingress/):
``Exact`` a ``Path`` rule, ``Prefix`` and ``ImplementationSpecific`` a ``PathPrefix`` rule, joined with
``Host`` when the rule has a host. Among the routers that match a request, the one with the highest priority
serves it; by default the priority is the length of the rule
(https://doc.traefik.io/traefik/routing/routers/#priority), which the annotation
``traefik.ingress.kubernetes.io/router.priority`` overrides for every router of the Ingress. The listed order
of paths does not count.

WebSockets pass through Traefik without configuration; its timeouts are set on entry points, not on the Ingress,
so there is nothing on the rendered objects to check.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import Candidate, IngressController, IngressView, Match, candidates, element_prefix, exact, longest
from .registry import register

PRIORITY = "traefik.ingress.kubernetes.io/router.priority"


def rule_text(c: Candidate) -> str:
    """The router rule Traefik builds for the path (its length is the default priority)."""
    path = c.route.path or "/"
    matcher = f"Path(`{path}`)" if c.route.path_type == "Exact" else f"PathPrefix(`{path}`)"
    return f"Host(`{c.route.host}`) && {matcher}" if c.route.host else matcher


def priority(c: Candidate) -> int:
    value = c.ingress.annotations.get(PRIORITY, "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else len(rule_text(c))


@register
class Traefik(IngressController):
    key = "traefik"
    title = "Traefik"
    class_names = ("traefik",)
    controller_ids = ("traefik.io/ingress-controller",)
    citation = "https://doc.traefik.io/traefik/routing/routers/#priority"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        matches = []
        for c in candidates(ingresses, host):
            path = c.route.path or "/"
            hit = exact(path, request) if c.route.path_type == "Exact" else element_prefix(path, request)
            if hit:
                matches.append(((priority(c),), c))
        return longest(matches, "the matching router with the highest priority (default: the longest rule)")
