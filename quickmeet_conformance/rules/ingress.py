"""Rules on the Ingress: WebSocket paths to ddp-streamer, / to the monolith, class and TLS."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..findings import Finding, Severity
from ..ingress_controllers.base import IngressController, candidates, ingress_views
from ..ingress_controllers.kubernetes_api import KubernetesApi
from ..ingress_controllers.registry import Judge, judges
from ..topology import DDP_STREAMER, MONOLITH, Route, Topology
from ..values import lookup
from .context import RenderedContext
from .engine import Rule, rule
from .services import listening_text, resolve_service_port

WEBSOCKET_PATHS = ("/websocket", "/sockjs")
# What a DDP client asks for: the raw WebSocket at /websocket, and SockJS's info request and transport URLs
# (/sockjs/<server>/<session>/websocket) below /sockjs; the path that must own each, and its requests.
WEBSOCKET_REQUESTS = {
    "/websocket": ("/websocket",),
    "/sockjs": ("/sockjs/info", "/sockjs/123/abcdefgh/websocket"),
}


def route_for(topo: Topology, host: str, path: str) -> Route | None:
    """The route the Kubernetes Ingress API's precedence picks for ``host`` + ``path`` (longest matching path,
    Exact before Prefix on a tie; Prefix matches whole path elements; ImplementationSpecific read as Prefix).
    The rules judge with the controller that serves the Ingress (``ingress_controllers``); this is the API's
    own reading, which the tool falls back to for a class it does not know."""
    match = KubernetesApi().select(ingress_views(topo), host, path)
    return match.route if match else None


def owner_of(path: str) -> str:
    """``/sockjs/*`` and ``/sockjs/`` are the /sockjs path: the part before a trailing ``/*`` or ``/``."""
    trimmed = path[:-2] if path.endswith("/*") else path
    return trimmed.rstrip("/") or "/"


def hosts_of(ctx: RenderedContext) -> list[str]:
    host = lookup(ctx.merged, "host") or ""
    if host:
        return [host]
    return sorted({r.host for r in ctx.topology.routes()}) or [""]


def _judged_hosts(ctx: RenderedContext) -> list[tuple[Judge, IngressController, str]]:
    """(judge, controller, host) to check: every host for one class of Ingress; with Ingresses of several
    classes (several controllers, several addresses), each judges the hosts its own Ingresses name."""
    found = judges(ctx.topology)
    hosts = hosts_of(ctx)
    return [
        (judge, controller, host)
        for judge in found
        for controller in judge.resolution.controllers
        for host in hosts
        if len(found) == 1 or candidates(judge.ingresses, host)
    ]


@rule(
    "ingress.required",
    title="an Ingress is rendered when microservices are on",
    contract="CONTRACT.md > Wiring: Ingress: an ingress controller is required",
    fix="set ingress.enabled: true (WebSockets must reach ddp-streamer through the ingress)",
)
def rule_ingress_required(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    if ctx.expectations.microservices and not ctx.topology.ingresses:
        yield r.fail(
            ctx,
            "microservices are on but no Ingress is rendered: /websocket cannot reach ddp-streamer",
            expected="an Ingress",
            found="none",
            key_path="ingress.enabled",  # the fix; absent from the file: where to add it
        )


def _judged_by(judge: Judge, controller: IngressController) -> str:
    if judge.resolution.known:
        return controller.title
    return f"{controller.title}: class {judge.resolution.class_name or 'unset'} is not modelled"


def _check_route(
    ctx: RenderedContext,
    r: Rule,
    judge: Judge,
    controller: IngressController,
    host: str,
    owner: str,
    component: str,
    want_port: int | None,
):
    """Each request ``owner`` stands for reaches ``component`` on ``want_port`` as ``controller`` routes it."""
    for request in WEBSOCKET_REQUESTS.get(owner, (owner,)):
        failures = list(_check_request(ctx, r, judge, controller, host, owner, request, component, want_port))
        if failures:
            yield from failures
            return  # one finding per path: its other requests fail for the same reason


def _check_request(
    ctx: RenderedContext,
    r: Rule,
    judge: Judge,
    controller: IngressController,
    host: str,
    owner: str,
    path: str,
    component: str,
    want_port: int | None,
):
    topo = ctx.topology
    match = controller.select(judge.ingresses, host, path)
    shown = f"{host or '*'}{path}"
    judged = _judged_by(judge, controller)
    if match is None:
        yield r.fail(
            ctx,
            f"no Ingress route serves {shown} ({judged})",
            expected=f"{owner} (Prefix) -> {component}",
            found="no matching path",
        )
        return
    route = match.route
    resource = f"Ingress/{route.ingress}"
    manifest = next((m for m in topo.manifests if m.ref == resource), None)
    where: dict[str, Any] = dict(
        resource=resource,
        field_path=f"spec.rules[host={route.host or '*'}].http.paths[path={route.path}]",
        manifest=manifest,
    )
    if owner != "/" and not owner_of(route.path).startswith(owner):
        own = next(
            (c.route for c in candidates(judge.ingresses, host) if owner_of(c.route.path) == owner), None
        )
        why = controller.why_not(own, path) if own is not None else f"no {owner} path of its own"
        yield r.fail(
            ctx,
            f"{shown} falls through to the {route.path!r} route ({why}; {judged})",
            expected=f"path {owner} pathType Prefix -> {component}",
            found=f"{route.path} ({route.path_type}) -> {route.service}",
            **where,
        )
        return
    service = topo.service(route.service)
    if service is None:
        yield r.fail(
            ctx,
            f"{shown} goes to Service {route.service!r}, which the release does not have",
            expected=f"the {component} Service",
            found=route.service,
            **where,
        )
        return
    container_port, reached = resolve_service_port(
        topo, service, name=route.port_name, number=route.port_number
    )
    components = sorted({w.component or w.ref for w in topo.workloads_selected_by(service)})
    if component not in components:
        yield r.fail(
            ctx,
            f"{shown} goes to {service.ref}, which selects {', '.join(components) or 'no pods'}, "
            f"not {component}",
            expected=component,
            found=", ".join(components) or "no pods",
            **where,
        )
        return
    svc_port = service.port_by(name=route.port_name, number=route.port_number)
    if svc_port is None:
        yield r.fail(
            ctx,
            f"{shown} uses port {route.port_label!r}, which {service.ref} does not expose",
            expected=f"a port of {service.ref}",
            found="ports " + ", ".join(f"{p.name or '-'}={p.port}" for p in service.ports),
            **where,
        )
        return
    if container_port is None:
        selected = topo.workloads_selected_by(service)
        listening = "; ".join(f"{w.ref}: {listening_text(w)}" for w in selected)
        yield r.fail(
            ctx,
            f"{shown} goes to {service.ref} port {route.port_label} -> targetPort "
            f"{svc_port.target_port!r}, where {component} does not listen",
            expected=f"the port {component} listens on" + (f" ({want_port})" if want_port else ""),
            found=f"listening: {listening}",
            **where,
        )
        return
    if want_port is not None and container_port.port != want_port:
        yield r.fail(
            ctx,
            f"{shown} reaches {component} on container port {container_port.port}, not its HTTP "
            f"port {want_port}",
            expected=str(want_port),
            found=str(container_port.port),
            **where,
        )


@rule(
    "ingress.websocket-to-ddp-streamer",
    title="/websocket and /sockjs (Prefix) go to the ddp-streamer Service, port http (3000)",
    contract="CONTRACT.md > Wiring: /websocket and /sockjs (pathType Prefix) must go to the ddp-streamer Service, "
    "port named http (3000)",
    fix="add paths /websocket and /sockjs (pathType Prefix) with backend <release>-ddp-streamer port name http",
)
def rule_websocket_routes_to_ddp_streamer(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    if not ctx.expectations.microservices:
        yield r.skip("microservices are off: the monolith serves WebSockets itself")
        return
    if not ctx.topology.ingresses:
        yield r.skip("no Ingress rendered (see ingress.required)")
        return
    for judge, controller, host in _judged_hosts(ctx):
        for path in WEBSOCKET_PATHS:
            yield from _check_route(ctx, r, judge, controller, host, path, DDP_STREAMER, 3000)


@rule(
    "ingress.root-to-monolith",
    title="/ goes to the monolith Service",
    contract="CONTRACT.md > Wiring: / goes to the monolith",
    fix="route path / (Prefix) to the <release>-<chart name> Service",
)
def rule_root_routes_to_monolith(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    if not ctx.topology.ingresses:
        yield r.skip("no Ingress rendered")
        return
    for judge, controller, host in _judged_hosts(ctx):
        yield from _check_route(ctx, r, judge, controller, host, "/", MONOLITH, None)


@rule(
    "ingress.class",
    title="the Ingress names its ingressClassName",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Wiring: without ingressClassName the cluster needs a default IngressClass",
    fix="set ingress.ingressClassName (e.g. nginx), or make sure the cluster has a default IngressClass",
)
def rule_ingress_class_named(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for ingress in ctx.topology.ingresses:
        if not ingress.class_name and not ingress.class_annotation:
            manifest = next((m for m in ctx.topology.manifests if m.ref == f"Ingress/{ingress.name}"), None)
            yield r.fail(
                ctx,
                f"Ingress/{ingress.name} has no ingressClassName: it works only if the cluster has a "
                "default IngressClass; with none in the release, its routing is judged by the Kubernetes API's "
                "precedence (longest matching path, Exact before Prefix)",
                expected="spec.ingressClassName",
                found="unset",
                resource=f"Ingress/{ingress.name}",
                field_path="spec.ingressClassName",
                manifest=manifest,
                key_path="ingress.ingressClassName",
            )


def _covers(pattern: str, host: str) -> bool:
    """A TLS host covers ``host`` exactly or as a one-label wildcard (``*.example.com``)."""
    return pattern == host or (
        pattern.startswith("*.") and host.endswith(pattern[1:]) and host.count(".") == pattern.count(".")
    )


def _entry_covers(hosts: tuple[str, ...], host: str) -> bool:
    # a tls entry without hosts serves the controller's default (wildcard) certificate for every host
    return not hosts or any(_covers(pattern, host) for pattern in hosts)


@rule(
    "ingress.tls-covers-host",
    title="TLS, when given, covers the configured host",
    contract="CONTRACT.md > Wiring: TLS hosts should cover host (browsers refuse the WebSocket to a host "
    "the certificate does not name)",
    fix="add host to ingress.tls[].hosts with a secretName holding its certificate (a wildcard *.domain "
    "covers one label)",
)
def rule_tls_covers_host(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    host = lookup(ctx.merged, "host") or ""
    if not host or not ctx.topology.ingresses:
        yield r.skip("no host or no Ingress")
        return
    key = "ingress.tls"
    for ingress in ctx.topology.ingresses:
        where: dict[str, Any] = dict(resource=f"Ingress/{ingress.name}", field_path="spec.tls", key_path=key)
        if not ingress.tls_entries:
            yield r.fail(
                ctx,
                f"Ingress/{ingress.name} has no TLS: {host} is served over plain HTTP only",
                expected=f"tls hosts including {host}",
                found="no TLS",
                severity=Severity.WARNING,
                **where,
            )
        elif not any(_entry_covers(hosts, host) for hosts in ingress.tls_entries):
            yield r.fail(
                ctx,
                f"Ingress/{ingress.name} TLS does not cover {host}: the chat host has no valid "
                "certificate over HTTPS and browsers refuse its WebSocket",
                expected=f"tls hosts including {host}",
                found=", ".join(ingress.tls_hosts),
                **where,
            )
