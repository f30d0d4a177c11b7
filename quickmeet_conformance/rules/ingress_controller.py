"""Rules on the controller behind each Ingress: known to the tool, and given what it needs for WebSockets."""

from __future__ import annotations

from collections.abc import Iterable

from ..findings import Finding, Severity
from ..ingress_controllers.registry import judges
from .context import RenderedContext
from .engine import Rule, rule
from .ingress import WEBSOCKET_REQUESTS, hosts_of

# the requests that open a WebSocket: a DDP client's /websocket, SockJS's websocket transport
WEBSOCKET_UPGRADES = ("/websocket", WEBSOCKET_REQUESTS["/sockjs"][-1])


@rule(
    "ingress.controller-known",
    title="the class of each Ingress names a controller whose routing the tool models",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Ingress controllers route differently: which controller serves an Ingress follows "
    "from ingressClassName (or the legacy kubernetes.io/ingress.class annotation)",
    fix="name the class of a modelled controller (nginx, traefik, alb, gce, haproxy, contour) or check the "
    "routing of /websocket and /sockjs on your controller by hand",
)
def rule_controller_known(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for judge in judges(ctx.topology):
        if judge.resolution.known or judge.resolution.class_name is None:
            continue  # an unset class is ingress.class's warning, which says what is assumed
        for ingress in judge.ingresses:
            yield r.fail(
                ctx,
                f"Ingress/{ingress.name}: {judge.resolution.assumption}",
                expected="a class served by a modelled controller",
                found=f"class {judge.resolution.class_name}",
                resource=f"Ingress/{ingress.name}",
                field_path="spec.ingressClassName",
                manifest=ingress.manifest,
                key_path="ingress.ingressClassName",
            )


@rule(
    "ingress.websocket-controller-needs",
    title="the WebSocket routes have what their controller documents WebSockets need",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Ingress controllers route differently (WebSocket needs a controller documents: "
    "annotations, backend timeouts below a DDP heartbeat)",
    fix="set what the cited controller documentation asks for on the Ingress (ingress.annotations) or on the "
    "Service the WebSocket routes reach",
)
def rule_websocket_controller_needs(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    if not ctx.topology.ingresses:
        yield r.skip("no Ingress rendered")
        return
    seen: set[str] = set()
    for judge in judges(ctx.topology):
        for controller in judge.resolution.controllers:
            for ingress in judge.ingresses:
                routes = []
                for host in hosts_of(ctx):
                    for request in WEBSOCKET_UPGRADES:
                        match = controller.select((ingress,), host, request)
                        if match is not None and match.route not in routes:
                            routes.append(match.route)
                for need in controller.websocket_needs(ingress, routes, ctx.topology) if routes else []:
                    if need.message in seen:
                        continue
                    seen.add(need.message)
                    yield r.fail(
                        ctx,
                        f"{need.message} (see {need.citation})",
                        expected=need.expected or f"what {controller.title} documents for WebSockets",
                        found=need.found,
                        resource=need.resource,
                        field_path=need.field_path,
                        manifest=ingress.manifest if need.resource == f"Ingress/{ingress.name}" else None,
                        key_path="ingress.annotations"
                        if need.resource.startswith("Ingress/")
                        and ctx.values_file.position("ingress.annotations")
                        else "",
                    )
