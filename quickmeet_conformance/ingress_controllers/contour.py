"""Contour (projectcontour), class ``contour``: Envoy routes built from the Ingress.

Paths (https://projectcontour.io/docs/main/config/ingress/): ``Exact`` an exact match, ``Prefix`` a path-segment
prefix, ``ImplementationSpecific`` a string prefix, or a regular expression when the path holds regular
expression characters. Contour orders a host's routes most specific first (exact, then regular expressions,
then the longest prefix), so the listed order of paths does not count.

WebSockets (https://projectcontour.io/docs/main/config/annotations/#ingress-annotations): Envoy upgrades a
connection only on the routes the Ingress lists in ``projectcontour.io/websocket-routes``; a WebSocket path
missing there is served as plain HTTP and the upgrade fails.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..topology import Route, Topology
from .base import (
    IngressController,
    IngressView,
    Match,
    Need,
    candidates,
    element_prefix,
    exact,
    longest,
    string_prefix,
)
from .registry import register

WEBSOCKET_ROUTES = "projectcontour.io/websocket-routes"
_REGEX_CHARS = re.compile(r"[\^\$\*\+\?\(\)\[\]\{\}\|\\]")


@register
class Contour(IngressController):
    key = "contour"
    title = "Contour"
    class_names = ("contour",)
    controller_ids = ("projectcontour.io/ingress-controller", "projectcontour.io/contour")
    citation = "https://projectcontour.io/docs/main/config/ingress/"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        matches = []
        for c in candidates(ingresses, host):
            path = c.route.path or "/"
            if c.route.path_type == "Exact":
                if exact(path, request):
                    matches.append(((2, len(path)), c))
            elif c.route.path_type == "Prefix":
                if element_prefix(path, request):
                    matches.append(((0, len(path.rstrip("/"))), c))
            elif _REGEX_CHARS.search(path):
                try:
                    hit = re.fullmatch(path, request) is not None
                except re.error:
                    hit = False
                if hit:
                    matches.append(((1, len(path)), c))
            elif string_prefix(path, request):
                matches.append(((0, len(path)), c))
        return longest(matches, "the most specific route (exact, regular expression, longest prefix)")

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        listed = {p.strip() for p in ingress.annotations.get(WEBSOCKET_ROUTES, "").split(",") if p.strip()}
        missing = sorted({r.path for r in ws_routes if r.path not in listed})
        if not missing:
            return []
        return [
            Need(
                f"Ingress/{ingress.name} does not list {', '.join(missing)} in {WEBSOCKET_ROUTES}: Contour enables "
                "WebSocket upgrades only on the routes listed there, so the DDP WebSocket fails",
                f"Ingress/{ingress.name}",
                f"metadata.annotations[{WEBSOCKET_ROUTES}]",
                "https://projectcontour.io/docs/main/config/annotations/#ingress-annotations",
                expected=f"{WEBSOCKET_ROUTES}: {','.join(sorted({r.path for r in ws_routes}))}",
                found=f"{WEBSOCKET_ROUTES}: {ingress.annotations.get(WEBSOCKET_ROUTES) or 'unset'}",
            )
        ]
