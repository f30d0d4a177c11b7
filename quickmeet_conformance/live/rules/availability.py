"""Live rules on the release as it runs: every workload available, and every Service, the WebSocket Ingress
routes and TRANSPORTER resolving to ready endpoints of the right component."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from ...findings import Finding, Verdict
from ...live.state import WEBSOCKET_ROUTES, Endpoint, LiveState, LiveView
from ...rules.engine import Rule, rule
from ...topology import BUS_CLIENTS, DDP_STREAMER, MONGODB, NATS, Workload
from .context import LiveContext, note, with_state

_SERVICE_HOST = re.compile(
    r"^(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?))?"
    r"(\.svc(\.cluster\.local)?)?$"
)


def _pod_reasons(state: LiveState, kind: str, name: str) -> str:
    """Why the pods of a workload are not available, in one line (scheduling, waiting reasons)."""
    reasons = []
    for pod in state.pods_owned_by(kind, name):
        status = pod.get("status") or {}
        for cond in status.get("conditions") or []:
            if cond.get("status") == "False" and cond.get("reason"):
                reasons.append(
                    f"{pod['metadata']['name']}: {cond['reason']} {cond.get('message', '')}".strip()
                )
        for cs in status.get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                reasons.append(f"{pod['metadata']['name']}: {waiting['reason']}")
    return "; ".join(sorted(set(reasons))[:4]) or "no pod reports a reason"


# -- topology ------------------------------------------------------------------------------------------


@rule(
    "live.workloads-available",
    title="every component's Deployment/StatefulSet is available with the configured replicas",
    contract="CONTRACT.md > Components (one container each; replicas from the Values contract: replicaCount, "
    "microservices.<service>.replicas, nats.cluster.replicas)",
    fix="look at the attached events and pod statuses: the pods of this workload do not become available",
    basis="doc",
    needs_render=False,
    lane="live",
)
@with_state
def rule_live_workloads_available(
    ctx: LiveContext, r: Rule, view: LiveView, state: LiveState
) -> Iterable[Finding]:
    wanted = view.release_topology.workloads if view.release_topology else state.topology.workloads
    autoscaled = {(a.target_kind, a.target_name) for a in state.topology.autoscalers}
    for workload in wanted:
        if workload.kind not in ("Deployment", "StatefulSet"):
            continue
        obj = state.get(workload.kind, workload.name)
        if obj is None:
            yield r.fail(
                ctx,
                f"{workload.ref} ({workload.component or 'unrecognised'}) of the release does not exist "
                "in the cluster",
                expected="the workload",
                found="absent",
                workload=workload,
            )
            continue
        status = obj.get("status") or {}
        live_spec = (obj.get("spec") or {}).get("replicas", 1)
        configured = (
            live_spec if (workload.kind, workload.name) in autoscaled else workload.effective_replicas
        )
        key = ""
        if ctx.expectations and workload.component in ctx.expectations.replicas:
            configured_by, key = ctx.expectations.replicas[workload.component]
            key = f" ({key} = {configured_by})"
        available = int(status.get("availableReplicas") or 0)
        ready = int(status.get("readyReplicas") or 0)
        if live_spec != configured or available != configured or ready != configured:
            yield r.fail(
                ctx,
                f"{workload.ref} ({workload.component or 'unrecognised'}): {available} of {configured} configured "
                f"replicas available{key}",
                expected=f"{configured} available and ready",
                found=f"spec.replicas {live_spec}, ready {ready}, available {available}",
                workload=workload,
                field_path="status.availableReplicas",
            )
            if available < configured:
                yield _evidence(r, ctx, workload, _pod_reasons(state, workload.kind, workload.name))
    expected = ctx.expectations.components if ctx.expectations else {}
    present = {w.component for w in state.topology.workloads}
    for component, must in sorted(expected.items()):
        if must and component not in present and component not in (MONGODB, NATS):
            yield r.fail(
                ctx,
                f"{component} is expected from the values but no workload of it runs in the cluster",
                expected=f"a {component} workload",
                found="none",
                resource=f"namespace {view.namespace}",
            )


def _evidence(r: Rule, ctx: LiveContext, workload: Workload, reasons: str) -> Finding:
    return Finding(
        r.id,
        Verdict.FAIL,
        f"{workload.ref} pods: {reasons}",
        severity=r.severity,
        resource=workload.ref,
        field_path="pods",
    )


def _expected_component(view: LiveView, state: LiveState, service: str) -> str | None:
    """The component a Service is for: its namesake workload (``<release>-nats`` serves ``<release>-nats``, also
    for ``-headless``), else the one component the release's own manifest says it selects."""
    topo = view.release_topology or state.topology
    base = service[: -len("-headless")] if service.endswith("-headless") else service
    namesake = next((w for w in topo.workloads if w.name == base and w.component), None)
    if namesake is not None:
        return namesake.component
    declared = topo.service(service)
    if declared is None:
        return None
    components = {w.component for w in topo.workloads_selected_by(declared) if w.component}
    return components.pop() if len(components) == 1 else None


def _ready(endpoints: list[Endpoint]) -> list[Endpoint]:
    return [e for e in endpoints if e.ready]


@rule(
    "live.service-endpoints",
    title="every Service has ready EndpointSlice endpoints, and they are pods of the Service's component",
    contract="CONTRACT.md > Wiring (naming: <release>-ddp-streamer, -presence, -account, -authorization, -stream-hub; "
    "NATS Service <release>-nats)",
    fix="make the Service select its own component's pods (app.kubernetes.io/name) and target a port they expose",
    basis="chart behaviour",
    needs_render=False,
    lane="live",
)
@with_state
def rule_live_service_endpoints(
    ctx: LiveContext, r: Rule, view: LiveView, state: LiveState
) -> Iterable[Finding]:
    pods = {p["metadata"]["name"]: p for p in state.of("Pod")}
    for svc in state.of("Service"):
        name = svc["metadata"]["name"]
        spec = svc.get("spec") or {}
        if not spec.get("selector") or spec.get("type") == "ExternalName":
            continue  # hand-made endpoints or an external name: nothing for the EndpointSlice controller to do
        component = _expected_component(view, state, name)
        endpoints = state.endpoints(name)
        for port in spec.get("ports") or []:
            port_name = str(port.get("name") or "")
            ready = _ready([e for e in endpoints if e.port_name == port_name])
            label = f"Service/{name} port {port_name or port.get('port')}"
            if not ready:
                yield r.fail(
                    ctx,
                    f"{label} has no ready endpoint ({component or 'unknown component'})",
                    expected=f"ready endpoints of {component or 'the selected'} pods",
                    found=f"{len(endpoints)} endpoint entries, none ready on this port",
                    resource=f"Service/{name}",
                    field_path="spec.selector / spec.ports[].targetPort",
                )
                continue
            wrong = sorted(
                {
                    f"{e.pod} ({state.pod_component(pods[e.pod]) if e.pod in pods else 'not a pod'})"
                    for e in ready
                    if e.pod not in pods or (component and state.pod_component(pods[e.pod]) != component)
                }
            )
            if wrong:
                yield r.fail(
                    ctx,
                    f"{label} sends traffic to pods that are not {component}: {', '.join(wrong)}",
                    expected=f"only {component} pods",
                    found=", ".join(wrong),
                    resource=f"Service/{name}",
                    field_path="spec.selector",
                )


def _resolve_route(
    state: LiveState, service_name: str, port_name: str | None, port_number: int | None
) -> tuple[list[Endpoint], str]:
    """Ready endpoints behind an Ingress backend (service + port), or why there are none."""
    svc = state.get("Service", service_name)
    if svc is None:
        return [], f"Service/{service_name} does not exist"
    ports = (svc.get("spec") or {}).get("ports") or []
    port = next(
        (
            p
            for p in ports
            if (port_name and p.get("name") == port_name) or (port_number and p.get("port") == port_number)
        ),
        None,
    )
    if port is None:
        return [], f"Service/{service_name} has no port {port_name or port_number}"
    ready = _ready([e for e in state.endpoints(service_name) if e.port_name == str(port.get("name") or "")])
    if not ready:
        return [], f"Service/{service_name} port {port.get('name') or port.get('port')} has no ready endpoint"
    return ready, ""


@rule(
    "live.ingress-websocket-endpoints",
    title="the Ingress backends for /websocket and /sockjs resolve to ready ddp-streamer endpoints",
    contract="CONTRACT.md > Wiring: /websocket and /sockjs (pathType Prefix) must go to the ddp-streamer Service, "
    "port named http (3000); / goes to the monolith",
    fix="route /websocket and /sockjs to <release>-ddp-streamer port http, and make that Service select the "
    "ddp-streamer pods",
    basis="doc",
    needs_render=False,
    lane="live",
)
@with_state
def rule_live_ingress_websocket(
    ctx: LiveContext, r: Rule, view: LiveView, state: LiveState
) -> Iterable[Finding]:
    if ctx.expectations is not None and not ctx.expectations.microservices:
        yield note(r, "microservices are off: the monolith serves WebSockets")
        return
    ingresses = state.topology.ingresses
    if not ingresses:
        yield note(r, "the release has no Ingress")
        return
    pods = {p["metadata"]["name"]: p for p in state.of("Pod")}
    for path in WEBSOCKET_ROUTES:
        routes = [rt for rt in state.topology.routes() if rt.path.rstrip("/") == path]
        if not routes:
            yield r.fail(
                ctx,
                f"no Ingress rule routes {path}: WebSocket traffic falls through to /",
                expected=f"{path} -> ddp-streamer port http",
                found="no such path",
                resource=f"Ingress/{ingresses[0].name}",
                field_path="spec.rules[].http.paths",
            )
            continue
        for route in routes:
            where = f"Ingress/{route.ingress} {path} -> Service/{route.service}:{route.port_label}"
            ready, why = _resolve_route(state, route.service, route.port_name, route.port_number)
            if not ready:
                yield r.fail(
                    ctx,
                    f"{where}: {why}",
                    expected="ready ddp-streamer endpoints",
                    found=why,
                    resource=f"Ingress/{route.ingress}",
                    field_path=f"paths[{path}].backend",
                )
                continue
            others = sorted(
                {
                    f"{e.pod} ({state.pod_component(pods[e.pod]) if e.pod in pods else 'not a pod'})"
                    for e in ready
                    if e.pod not in pods or state.pod_component(pods[e.pod]) != DDP_STREAMER
                }
            )
            if others:
                yield r.fail(
                    ctx,
                    f"{where} reaches pods that are not ddp-streamer: {', '.join(others)}",
                    expected="ddp-streamer pods only",
                    found=", ".join(others),
                    resource=f"Ingress/{route.ingress}",
                    field_path=f"paths[{path}].backend",
                )


def _transporter_urls(state: LiveState, workload: Workload) -> tuple[list[str], str]:
    """The TRANSPORTER URLs a workload's pods get (a secretKeyRef read from the live Secret), or a note."""
    container = workload.main_container
    var = container.env_var("TRANSPORTER") if container else None
    if var is None:
        return [], "no TRANSPORTER"
    value = var.value
    if var.secret_name is not None:
        value = state.secret_value(var.secret_name, var.secret_key or "")
        if value is None:
            return [], f"TRANSPORTER from Secret {var.secret_name} key {var.secret_key}, which does not exist"
    text = (value or "").strip()
    if text.startswith("monolith+"):
        text = text[len("monolith+") :]
    return [u.strip() for u in text.split(",") if u.strip()], ""


@rule(
    "live.transporter-endpoints",
    title="TRANSPORTER's host resolves to the NATS Service's ready endpoints on the URL's port",
    contract="CONTRACT.md > Wiring: TRANSPORTER=nats://<release>-nats:4222 on every microservice pod and the "
    "monolith; the host must be a Service that exists, exposes that port, and selects the NATS pods",
    fix="point TRANSPORTER at the NATS Service and make that Service select the NATS pods on port 4222",
    basis="doc",
    needs_render=False,
    lane="live",
)
@with_state
def rule_live_transporter_endpoints(
    ctx: LiveContext, r: Rule, view: LiveView, state: LiveState
) -> Iterable[Finding]:
    pods = {p["metadata"]["name"]: p for p in state.of("Pod")}
    checked: dict[tuple[str, int], list[str]] = {}
    for workload in state.topology.workloads:
        if workload.component not in BUS_CLIENTS:
            continue
        urls, unread = _transporter_urls(state, workload)
        if unread and unread != "no TRANSPORTER":
            yield r.fail(
                ctx,
                f"{workload.ref}: {unread}",
                expected="a readable TRANSPORTER",
                found=unread,
                resource=workload.ref,
                field_path="env[TRANSPORTER]",
            )
        for url in urls:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or 4222
            checked.setdefault((host, port), []).append(workload.ref)
    if not checked:
        yield note(r, "no pod of the release has a TRANSPORTER")
        return
    for (host, port), users in sorted(checked.items()):
        who = f"TRANSPORTER of {', '.join(sorted(set(users)))}"
        match = _SERVICE_HOST.match(host)
        namespace = (match.group("ns") if match else None) or view.namespace
        if match is None or (
            ("." in host) and not host.endswith((".svc", ".svc.cluster.local")) and host.count(".") != 1
        ):
            yield note(r, f"{who}: host {host} is outside the cluster (external NATS), not checked")
            continue
        if namespace != view.namespace:
            yield note(r, f"{who}: host {host} is in namespace {namespace}, outside the release, not checked")
            continue
        name = match.group("name")
        svc = state.get("Service", name)
        if svc is None:
            yield r.fail(
                ctx,
                f"{who} names host {host}, but Service/{name} does not exist",
                expected="the NATS Service",
                found="no such Service",
                resource=f"Service/{name}",
            )
            continue
        port_spec = next(
            (p for p in (svc.get("spec") or {}).get("ports") or [] if p.get("port") == port), None
        )
        if port_spec is None:
            yield r.fail(
                ctx,
                f"{who} uses port {port}, which Service/{name} does not expose",
                expected=f"Service/{name} port {port}",
                found="ports "
                + ", ".join(str(p.get("port")) for p in (svc.get("spec") or {}).get("ports") or []),
                resource=f"Service/{name}",
                field_path="spec.ports",
            )
            continue
        ready = _ready([e for e in state.endpoints(name) if e.port_name == str(port_spec.get("name") or "")])
        if not ready:
            yield r.fail(
                ctx,
                f"{who}: Service/{name} port {port} has no ready endpoint: nothing answers on the bus",
                expected="ready NATS endpoints",
                found="none",
                resource=f"Service/{name}",
                field_path="spec.selector",
            )
            continue
        others = sorted(
            {
                e.pod or e.address
                for e in ready
                if e.pod not in pods or state.pod_component(pods[e.pod]) != NATS
            }
        )
        if others:
            yield r.fail(
                ctx,
                f"{who}: Service/{name} port {port} reaches pods that are not NATS: {', '.join(others)}",
                expected="NATS pods",
                found=", ".join(others),
                resource=f"Service/{name}",
                field_path="spec.selector",
            )
