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
from .base import IngressController, IngressView, Match, Need, most_specific, string_prefix
from .registry import register

WEBSOCKET_ROUTES = "projectcontour.io/websocket-routes"
_REGEX_CHARS = re.compile(r"[\^\$\*\+\?\(\)\[\]\{\}\|\\]")


def _is_regex(route: Route) -> bool:
    return route.path_type not in ("Exact", "Prefix") and bool(_REGEX_CHARS.search(route.path or "/"))


def _specificity(route: Route) -> int:
    """Exact routes first, then regular expressions, then prefixes."""
    return 2 if route.path_type == "Exact" else 1 if _is_regex(route) else 0


def _regex_or_prefix(path: str, request: str) -> bool:
    """An ImplementationSpecific path: a regular expression (whole path) when it holds one, else a prefix."""
    if not _REGEX_CHARS.search(path):
        return string_prefix(path, request)
    try:
        return re.fullmatch(path, request) is not None
    except re.error:
        return False


@register
class Contour(IngressController):
    key = "contour"
    title = "Contour"
    class_names = ("contour",)
    controller_ids = ("projectcontour.io/ingress-controller", "projectcontour.io/contour")
    citation = "https://projectcontour.io/docs/main/config/ingress/"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        return most_specific(
            ingresses,
            host,
            request,
            "the most specific route (exact, regular expression, longest prefix)",
            implementation_specific=_regex_or_prefix,
            rank=_specificity,
        )

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
