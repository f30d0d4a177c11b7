"""ingress-nginx (kubernetes/ingress-nginx), class ``nginx``.

Path matching (https://kubernetes.github.io/ingress-nginx/user-guide/ingress-path-matching/): paths become
nginx locations of the host, ``Exact`` an exact location, ``Prefix`` a prefix location (element-wise),
``ImplementationSpecific`` a plain nginx prefix location; nginx serves the longest matching one, whatever the
order the Ingress lists them in. With ``nginx.ingress.kubernetes.io/use-regex: "true"`` (or ``rewrite-target``)
on any Ingress of the host, every path of that host becomes a case-insensitive regular expression anchored at
the start, tried longest first, and the first that matches wins.

WebSockets (https://kubernetes.github.io/ingress-nginx/user-guide/miscellaneous/#websockets): supported out
of the box; the connection is closed after ``proxy-read-timeout`` / ``proxy-send-timeout`` (60 s by default)
without traffic, so an annotation below the DDP heartbeat cuts idle sessions.
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
    idle_timeout_needs,
    longest,
    most_specific,
    string_prefix,
)
from .registry import register

PREFIX = "nginx.ingress.kubernetes.io/"
WEBSOCKET_DOC = "https://kubernetes.github.io/ingress-nginx/user-guide/miscellaneous/#websockets"


def _regex_on(ingress: IngressView) -> bool:
    return ingress.annotations.get(PREFIX + "use-regex", "").lower() == "true" or bool(
        ingress.annotations.get(PREFIX + "rewrite-target")
    )


def _regex_match(path: str, request: str) -> bool:
    try:
        return re.match(path, request, re.IGNORECASE) is not None
    except re.error:
        return string_prefix(path, request)


@register
class IngressNginx(IngressController):
    key = "ingress-nginx"
    title = "ingress-nginx"
    class_names = ("nginx",)
    controller_ids = ("k8s.io/ingress-nginx",)
    citation = "https://kubernetes.github.io/ingress-nginx/user-guide/ingress-path-matching/"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        found = candidates(ingresses, host)
        if any(_regex_on(c.ingress) for c in found):
            regex = [
                ((len(c.route.path or "/"),), c) for c in found if _regex_match(c.route.path or "/", request)
            ]
            return longest(regex, "use-regex on the host: the longest regular expression that matches")
        return most_specific(
            ingresses, host, request, "nginx serves the longest matching location (Exact first)"
        )

    def websocket_needs(self, ingress: IngressView, ws_routes: Sequence[Route], topo: Topology) -> list[Need]:
        return [
            need
            for name in ("proxy-read-timeout", "proxy-send-timeout")
            for need in idle_timeout_needs(
                ingress, PREFIX + name, self.title, WEBSOCKET_DOC, unit="s", label=name, default="60"
            )
        ]
