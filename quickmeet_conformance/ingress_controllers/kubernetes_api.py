"""The Kubernetes Ingress API's own precedence: the judge for a class no controller model knows.

https://kubernetes.io/docs/concepts/services-networking/ingress/#multiple-matches: "precedence will be given
first to the longest matching path. If two paths are still equally matched, precedence will be given to paths
with an exact path type over prefix path type." ``ImplementationSpecific`` is left to the controller by the API;
with no controller known it is read as ``Prefix`` (the reading most controllers share), and said so.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import IngressController, IngressView, Match, candidates, element_prefix, exact, longest
from .registry import register


@register
class KubernetesApi(IngressController):
    key = "kubernetes"
    title = "the Kubernetes Ingress API's precedence"
    citation = "https://kubernetes.io/docs/concepts/services-networking/ingress/#multiple-matches"

    def select(self, ingresses: Sequence[IngressView], host: str, request: str) -> Match | None:
        matches = []
        for c in candidates(ingresses, host):
            path = c.route.path or "/"
            if c.route.path_type == "Exact":
                if exact(path, request):
                    matches.append(((len(path), 1), c))
            elif element_prefix(path, request):  # Prefix, and ImplementationSpecific read as Prefix
                matches.append(((len(path.rstrip("/")), 0), c))
        return longest(matches, "longest matching path (Exact before Prefix on a tie)")
