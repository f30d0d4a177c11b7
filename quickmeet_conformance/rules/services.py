"""Rules on Services: each selects the pods of exactly one component, and its targetPorts exist there."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..findings import Finding, Severity
from ..topology import (
    BUS_CLIENTS,
    DDP_STREAMER,
    ListeningPort,
    Service,
    ServicePort,
    Topology,
    Workload,
    parse_transporter,
)
from .chart_defects import orphan_service_remedy
from .context import RenderedContext
from .engine import Rule, rule


def _component_label(workload: Workload) -> str:
    return workload.component or f"unrecognised workload {workload.ref}"


@rule(
    "services.single-component",
    title="every Service selects the pods of exactly one component",
    contract="CONTRACT.md > Wiring (naming: one Service per component, e.g. <release>-ddp-streamer)",
    fix="make the Service selector include the component's own label (app.kubernetes.io/name)",
    basis="chart behaviour",
)
def rule_service_selects_one_component(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    topo = ctx.topology
    manifests = {m.ref: m for m in topo.manifests}
    for service in topo.services:
        if not service.selector:
            continue  # headless/external Services with hand-made endpoints select nothing on purpose
        selected = topo.workloads_selected_by(service)
        components = sorted({_component_label(w) for w in selected})
        manifest = manifests.get(service.ref)
        if not selected:
            yield r.fail(
                ctx,
                f"{service.ref} selects no pods of this release (selector {service.selector})",
                expected="the pods of one component",
                found="no pods",
                resource=service.ref,
                field_path="spec.selector",
                manifest=manifest,
                remedy=orphan_service_remedy(ctx, manifest, service.selector) if manifest else None,
            )
        elif len(components) > 1:
            yield r.fail(
                ctx,
                f"{service.ref} selects pods of {len(components)} components: {', '.join(components)}",
                expected="the pods of one component",
                found=", ".join(w.ref for w in selected),
                resource=service.ref,
                field_path="spec.selector",
                manifest=manifests.get(service.ref),
            )


def resolve_service_port(
    topo: Topology, service: Service, *, name: str | None = None, number: int | None = None
) -> tuple[ListeningPort | None, list[Workload]]:
    """Where a Service port (by name or number) lands: the port a selected process listens on, and the
    workloads it reaches (a numeric targetPort needs no declared containerPort)."""
    port = service.port_by(name=name, number=number)
    if port is None:
        return None, []
    reached: list[Workload] = []
    landed = None
    for workload in topo.workloads_selected_by(service):
        listening = workload.listening_port_for(port.target_port)
        if listening is not None:
            landed = listening
            reached.append(workload)
    return landed, reached


def _on_quickmeet_path(ctx: RenderedContext, service: Service, port: ServicePort) -> str:
    """Why this Service port carries QuickMeet.Chat traffic ('' when nothing of QuickMeet.Chat uses it):
    an Ingress backend, the TRANSPORTER address, or ddp-streamer's HTTP port."""
    topo = ctx.topology
    for route in topo.routes():
        if route.service == service.name and (
            (route.port_name and route.port_name == port.name) or route.port_number == port.port
        ):
            return f"Ingress/{route.ingress} sends {route.path} here"
    for workload in topo.workloads:
        if workload.component not in BUS_CLIENTS:
            continue
        container = workload.container_for(workload.component, ctx.matcher)
        var = container.env_var("TRANSPORTER") if container else None
        address = parse_transporter(var.value or "") if var is not None and var.secret_name is None else None
        if address is not None and address.host == service.name and address.port == port.port:
            return f"it is the TRANSPORTER address of {workload.component}"
    if any(w.component == DDP_STREAMER for w in topo.workloads_selected_by(service)) and (
        port.name == "http" or port.port == 3000
    ):
        return "it is ddp-streamer's HTTP (WebSocket) port"
    return ""


def listening_text(workload: Workload) -> str:
    """Each port the workload listens on once, with how it is known: ``3000 (http, env PORT), 9458
    (metrics)``; a port known only as the component's default says ``default``."""
    ports: dict[int, list[str]] = {}
    for p in workload.listening_ports():
        how = ports.setdefault(p.port, [])
        why = p.name or (p.source if p.source.startswith("env ") else "default")
        if why not in how and not (why == "default" and how):
            how.append(why)
    return ", ".join(f"{port} ({', '.join(how)})" for port, how in ports.items()) or "no known port"


def _service_port(service: Service, port: ServicePort) -> str:
    """``Service/x port http (3000)``: the Service port by name, with its number when the target differs
    (``port leafnodes targets 7422`` says the number once)."""
    if not port.name:
        return f"{service.ref} port {port.port}"
    same = str(port.target_port) == str(port.port)
    return f"{service.ref} port {port.name}" + ("" if same else f" ({port.port})")


@rule(
    "services.target-port",
    title="every Service port reaches a port its selected pods really listen on",
    contract="CONTRACT.md > Wiring (Services selecting the right pods and ports) and Components (monolith and "
    "ddp-streamer HTTP 3000, nats client 4222 / monitor 8222): a named targetPort must be a declared container "
    "port; a numeric one must be where the process listens (its PORT env or its default)",
    fix="name a container port the pods declare, or target the port the process listens on (its PORT env or "
    "default); remove Service ports nothing serves",
    basis="chart behaviour",
)
def rule_service_target_ports_exist(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    topo = ctx.topology
    manifests = {m.ref: m for m in topo.manifests}
    for service in topo.services:
        for workload in topo.workloads_selected_by(service):
            for index, port in enumerate(service.ports):
                if workload.listening_port_for(port.target_port) is not None:
                    continue
                where: dict[str, Any] = dict(
                    resource=service.ref,
                    field_path=f"spec.ports[{index}].targetPort",
                    manifest=manifests.get(service.ref),
                )
                label = _service_port(service, port)
                pods = f"{_component_label(workload)} ({workload.ref})"
                target = port.target_port
                listening = listening_text(workload)
                if isinstance(target, str) and not target.isdigit():
                    declared = ", ".join(f"{p.name or '-'}={p.port}" for p in workload.all_ports()) or "none"
                    named = next((p for p in workload.all_ports() if p.name == target), None)
                    if named is not None:
                        yield r.fail(
                            ctx,
                            f"{label} targets container port {target!r} ({named.port}) of {pods}, but its "
                            f"HTTP server listens on {workload.http_port()} (env PORT)",
                            expected=f"{target!r} where the process listens",
                            found=f"it listens on {listening}",
                            **where,
                        )
                        continue
                    yield r.fail(
                        ctx,
                        f"{label} targets the port name {target!r}, which no container of {pods} declares: "
                        "Kubernetes gives the Service no endpoints for it",
                        expected=f"a container port named {target!r}",
                        found=f"declared container ports: {declared}",
                        **where,
                    )
                    continue
                path = _on_quickmeet_path(ctx, service, port)
                if path:
                    yield r.fail(
                        ctx,
                        f"{label} targets {target}, a port {pods} does not listen on; {path}",
                        expected=f"a port {_component_label(workload)} listens on",
                        found=f"it listens on {listening}",
                        **where,
                    )
                else:
                    yield r.fail(
                        ctx,
                        f"{label} targets {target}, where nothing in {pods} is known to listen; no "
                        "QuickMeet.Chat path uses this port",
                        expected=f"a port {_component_label(workload)} listens on, or no such Service port",
                        found=f"it listens on {listening}",
                        severity=Severity.WARNING,
                        **where,
                    )
