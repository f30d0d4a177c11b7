"""Rules on Services: each selects the pods of exactly one component, and its targetPorts exist there."""

from __future__ import annotations

from typing import Iterable

from ..findings import Finding
from ..topology import ContainerPort, Service, Topology, Workload
from .engine import Context, Rule, rule


def _component_label(workload: Workload) -> str:
    return workload.component or f"unrecognised workload {workload.ref}"


@rule(
    "services.single-component",
    title="every Service selects the pods of exactly one component",
    contract="CONTRACT.md > Wiring (naming: one Service per component, e.g. <release>-ddp-streamer)",
    fix="make the Service selector include the component's own label (app.kubernetes.io/name)",
    basis="chart behaviour",
)
def rule_service_selects_one_component(ctx: Context, r: Rule) -> Iterable[Finding]:
    topo = ctx.topology
    manifests = {m.ref: m for m in topo.manifests}
    for service in topo.services:
        if not service.selector:
            continue  # headless/external Services with hand-made endpoints select nothing on purpose
        selected = topo.workloads_selected_by(service)
        components = sorted({_component_label(w) for w in selected})
        if not selected:
            yield r.fail(
                ctx,
                f"{service.ref} selects no pods of this release (selector {service.selector})",
                expected="the pods of one component",
                found="no pods",
                resource=service.ref,
                field_path="spec.selector",
                manifest=manifests.get(service.ref),
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


def container_port_for(workload: Workload, target: int | str) -> ContainerPort | None:
    """The container port a Service targetPort (a name or a number) lands on, if any."""
    if isinstance(target, str) and not target.isdigit():
        return next((p for p in workload.all_ports() if p.name == target), None)
    return next((p for p in workload.all_ports() if p.port == int(target)), None)


def target_port_on(workload: Workload, target: int | str) -> bool:
    return container_port_for(workload, target) is not None


def resolve_service_port(
    topo: Topology, service: Service, *, name: str | None = None, number: int | None = None
) -> tuple[ContainerPort | None, list[Workload]]:
    """The container port a Service port (by name or number) leads to, and the workloads it reaches."""
    port = service.port_by(name=name, number=number)
    if port is None:
        return None, []
    reached: list[Workload] = []
    landed = None
    for workload in topo.workloads_selected_by(service):
        container_port = container_port_for(workload, port.target_port)
        if container_port is not None:
            landed = container_port
            reached.append(workload)
    return landed, reached


@rule(
    "services.target-port",
    title="every Service port's targetPort exists on the pods it selects",
    contract="CONTRACT.md > Wiring (Services selecting the right pods and ports)",
    fix="name the container port the Service targets, or target the port the container exposes",
    basis="chart behaviour",
)
def rule_service_target_ports_exist(ctx: Context, r: Rule) -> Iterable[Finding]:
    topo = ctx.topology
    manifests = {m.ref: m for m in topo.manifests}
    for service in topo.services:
        for workload in topo.workloads_selected_by(service):
            for index, port in enumerate(service.ports):
                if not target_port_on(workload, port.target_port):
                    exposed = ", ".join(f"{p.name or '-'}={p.port}" for p in workload.all_ports()) or "none"
                    yield r.fail(
                        ctx,
                        f"{service.ref} port {port.name or port.port} targets {port.target_port!r}, "
                        f"which {_component_label(workload)} ({workload.ref}) does not expose",
                        expected=f"container port {port.target_port!r}",
                        found=f"container ports: {exposed}",
                        resource=service.ref,
                        field_path=f"spec.ports[{index}].targetPort",
                        manifest=manifests.get(service.ref),
                    )
