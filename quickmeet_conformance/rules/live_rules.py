"""Live rules: what a release does on a real API server (CONTRACT.md), read from ``ctx.live``.

Each rule reads a :class:`~quickmeet_conformance.live.state.LiveView` that the live scenario observed
before (snapshots, a pod watch over an upgrade, an upgrade's outcome); none of them calls the cluster.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ..findings import Finding, Verdict, passed
from ..live.state import NOT_ANSWERED, WEBSOCKET_ROUTES, Endpoint, LiveState, LiveView
from ..topology import BUS_CLIENTS, DDP_STREAMER, MONGODB, MONOLITH, NATS, Topology, Workload
from .engine import CheckFn, Context, Rule, rule

_SERVICE_HOST = re.compile(
    r"^(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?))?"
    r"(\.svc(\.cluster\.local)?)?$"
)


def _unobserved(ctx: Context, r: Rule, *, need_state: bool) -> list[Finding]:
    """The skip of a live rule that has nothing to read (empty when there is)."""
    if ctx.live is None:
        return [r.skip("not evaluated: no cluster observation for this case")]
    if need_state and ctx.live.state is None:
        return [r.skip("not evaluated: the release could not be observed")]
    return []


def observed(fn: Callable[[Context, Rule, LiveView], Iterable[Finding]]) -> CheckFn:
    """A live rule that reads the case's :class:`LiveView` (an upgrade outcome, a pod watch)."""

    @functools.wraps(fn)
    def check(ctx: Context, r: Rule) -> Iterable[Finding]:
        return _unobserved(ctx, r, need_state=False) or fn(ctx, r, ctx.live)  # type: ignore[arg-type]  # set when [] returned

    return check


def with_state(fn: Callable[[Context, Rule, LiveView, LiveState], Iterable[Finding]]) -> CheckFn:
    """A live rule that reads the cluster state observed after the case's install (or upgrade)."""

    @functools.wraps(fn)
    def check(ctx: Context, r: Rule) -> Iterable[Finding]:
        return _unobserved(ctx, r, need_state=True) or fn(ctx, r, ctx.live, ctx.live.state)  # type: ignore[arg-type]  # set when [] returned

    return check


def _note(r: Rule, message: str) -> Finding:
    """A check that does not apply here, said explicitly (counts as a skip, never as a pass)."""
    return r.skip(message)


def _ref(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def _release_workload(view: LiveView, kind: str, name: str) -> Workload | None:
    topo = view.release_topology
    return next((w for w in topo.workloads if w.kind == kind and w.name == name), None) if topo else None


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
    ctx: Context, r: Rule, view: LiveView, state: LiveState
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


def _evidence(r: Rule, ctx: Context, workload: Workload, reasons: str) -> Finding:
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
    topo: Topology | None = view.release_topology or state.topology
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
def rule_live_service_endpoints(ctx: Context, r: Rule, view: LiveView, state: LiveState) -> Iterable[Finding]:
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
def rule_live_ingress_websocket(ctx: Context, r: Rule, view: LiveView, state: LiveState) -> Iterable[Finding]:
    if ctx.expectations is not None and not ctx.expectations.microservices:
        yield _note(r, "microservices are off: the monolith serves WebSockets")
        return
    ingresses = state.topology.ingresses
    if not ingresses:
        yield _note(r, "the release has no Ingress")
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
    ctx: Context, r: Rule, view: LiveView, state: LiveState
) -> Iterable[Finding]:
    pods = {p["metadata"]["name"]: p for p in state.of("Pod")}
    checked: dict[tuple[str, int], list[str]] = {}
    for workload in state.topology.workloads:
        if workload.component not in BUS_CLIENTS:
            continue
        urls, note = _transporter_urls(state, workload)
        if note and note != "no TRANSPORTER":
            yield r.fail(
                ctx,
                f"{workload.ref}: {note}",
                expected="a readable TRANSPORTER",
                found=note,
                resource=workload.ref,
                field_path="env[TRANSPORTER]",
            )
        for url in urls:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or 4222
            checked.setdefault((host, port), []).append(workload.ref)
    if not checked:
        yield _note(r, "no pod of the release has a TRANSPORTER")
        return
    for (host, port), users in sorted(checked.items()):
        who = f"TRANSPORTER of {', '.join(sorted(set(users)))}"
        match = _SERVICE_HOST.match(host)
        namespace = (match.group("ns") if match else None) or view.namespace
        if match is None or (
            ("." in host) and not host.endswith((".svc", ".svc.cluster.local")) and host.count(".") != 1
        ):
            yield _note(r, f"{who}: host {host} is outside the cluster (external NATS), not checked")
            continue
        if namespace != view.namespace:
            yield _note(
                r, f"{who}: host {host} is in namespace {namespace}, outside the release, not checked"
            )
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


# -- rollouts and upgrades -----------------------------------------------------------------------------


@rule(
    "live.streamhub-peak-one",
    title="while a helm upgrade runs, at most one stream-hub pod exists at any moment (watched, not sampled)",
    contract="CONTRACT.md > Upgrades: stream-hub must never run two pods at once, not even during a rollout: a "
    "RollingUpdate with maxSurge >= 1 on a one-replica Deployment briefly runs two",
    fix="give the stream-hub Deployment strategy {type: Recreate} (or RollingUpdate with maxSurge: 0), and never "
    "rename it in an upgrade",
    basis="server code",
    needs_render=False,
    lane="live",
)
@observed
def rule_live_streamhub_peak_one(ctx: Context, r: Rule, view: LiveView) -> Iterable[Finding]:
    hub = view.hub
    if hub is None:
        yield _note(r, "not evaluated: no upgrade was watched for this case")
        return
    if hub.peak == 0 and not hub.timeline:
        yield _note(r, f"no stream-hub pod existed during {hub.description}")
        return
    if hub.peak > 1:
        yield Finding(
            r.id,
            Verdict.FAIL,
            f"{hub.peak} stream-hub pods existed at once during {hub.description}: "
            f"{', '.join(hub.peak_pods)}",
            severity=r.severity,
            expected="at most 1 stream-hub pod at any moment",
            found=str(hub.peak),
            resource=", ".join(sorted({_owner(p) for p in hub.peak_pods})),
            field_path="spec.strategy",
            evidence=(("timeline", "\n    " + "\n    ".join(hub.timeline)),),
        )
    elif not hub.replaced and hub.points and hub.points[-1][1] == 0:
        yield _note(r, f"{hub.description} removed stream-hub: its pod was deleted and none started")
    elif not hub.replaced:
        yield _note(
            r, f"{hub.description} did not replace the stream-hub pod (its pod template did not change)"
        )


def _owner(pod: str) -> str:
    """``rocketchat-stream-hub-5d8f7c9b4-x2x7q`` -> ``Deployment/rocketchat-stream-hub`` (best effort, for messages)."""
    parts = pod.split("-")
    return f"Deployment/{'-'.join(parts[:-2])}" if len(parts) > 2 else pod


@rule(
    "live.upgrade-accepted",
    title="helm upgrade is accepted by the API server (it changes no immutable field)",
    contract="CONTRACT.md > Upgrades: Deployment spec.selector, StatefulSet volumeClaimTemplates/serviceName/selector, "
    "Service clusterIP, PVC specs and Job templates are immutable: an upgrade that changes them fails at the "
    "API server",
    fix="keep selectors and StatefulSet identity fields stable across chart versions (new labels go on the pod "
    "template only), or rename the resource deliberately",
    basis="chart behaviour",
    needs_render=False,
    lane="live",
)
@observed
def rule_live_upgrade_accepted(ctx: Context, r: Rule, view: LiveView) -> Iterable[Finding]:
    outcome = view.upgrade
    if outcome is None:
        yield _note(r, "not evaluated: no upgrade was run for this case")
        return
    if not outcome.accepted:
        predicted = outcome.predicted_rejections
        yield Finding(
            r.id,
            Verdict.FAIL,
            f"the API server rejected helm upgrade {outcome.from_label} -> "
            f"{outcome.to_label}: {outcome.error}",
            severity=r.severity,
            expected="the upgrade is applied",
            found=outcome.error,
            field_path="helm upgrade",
            evidence=(
                (
                    "render-time prediction",
                    "; ".join(predicted) if predicted else "no immutable field change predicted",
                ),
            ),
        )


@rule(
    "live.upgrade-websocket-handover",
    title="after a real helm upgrade, the WebSockets through the ingress reach the component the new values "
    "promise (ddp-streamer for microservices), as the DDP probe proves before and after",
    contract='CONTRACT.md > Upgrades: "Convert your monolith deployment" = helm upgrade with '
    "microservices.enabled: true; CONTRACT.md > Wiring: /websocket and /sockjs must go to the ddp-streamer "
    "Service",
    fix="route /websocket and /sockjs (pathType Prefix) of the upgraded Ingress to the ddp-streamer Service, "
    "port http, and keep ddp-streamer's pods on the bus and Ready",
    basis="server code",
    needs_render=False,
    lane="live",
)
@observed
def rule_live_upgrade_websocket_handover(ctx: Context, r: Rule, view: LiveView) -> Iterable[Finding]:
    outcome = view.upgrade
    if outcome is None or not outcome.accepted:
        yield _note(r, "not evaluated: no upgrade was applied for this case")
        return
    if not outcome.websocket_after:
        yield _note(
            r, "not evaluated: no pod runs on this cluster, so no DDP probe (run it with --cluster kind)"
        )
        return
    micro = ctx.expectations.microservices if ctx.expectations else False
    wanted = DDP_STREAMER if micro else MONOLITH
    before = ", ".join(f"{route} -> {who}" for route, who in sorted(outcome.websocket_before.items()))
    for route in WEBSOCKET_ROUTES:
        who = outcome.websocket_after.get(route, NOT_ANSWERED)
        evidence = (("before the upgrade", before or "not probed"),)
        if who != wanted:
            yield Finding(
                r.id,
                Verdict.FAIL,
                f"after helm upgrade {outcome.from_label} -> {outcome.to_label}, {route} through the ingress "
                f"is answered by {who}, not {wanted} (microservices.enabled: {str(micro).lower()})",
                severity=r.severity,
                expected=f"{route} answered by {wanted}",
                found=who,
                resource=f"Ingress path {route}",
                field_path="spec.rules[].http.paths[].backend",
                evidence=evidence,
            )
        else:
            yield passed(
                r.id,
                f"{route}: {outcome.websocket_before.get(route, 'not probed')} before, {who} after",
                r.severity,
            )


_MONGO_URL = "MONGO_URL"


def _data_volumes(state: LiveState) -> dict[str, str]:
    """PVC name -> uid of the claims MongoDB pods mount."""
    claims = {}
    for pod in state.pods(MONGODB):
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                claims[claim] = state.uid("PersistentVolumeClaim", claim) or "(missing)"
    return claims


def _data_secrets(state: LiveState) -> dict[str, str]:
    """Secret name -> uid of the Secrets that MongoDB pods read and that MONGO_URL comes from."""
    names = set()
    for pod in state.of("Pod"):
        component = state.pod_component(pod)
        for container in (pod.get("spec") or {}).get("containers") or []:
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
                if ref.get("name") and (component == MONGODB or env.get("name") == _MONGO_URL):
                    names.add(ref["name"])
    return {n: state.uid("Secret", n) or "(missing)" for n in names}


@rule(
    "live.upgrade-keeps-data",
    title="MongoDB's volume claims and Secrets keep their UIDs across the upgrade (the same objects, not copies)",
    contract='CONTRACT.md > Upgrades: "Convert your monolith deployment" = helm upgrade ...: MongoDB data and '
    "secrets are kept",
    fix="keep the MongoDB StatefulSet, its volumeClaimTemplates and the Secrets' names stable across chart versions",
    basis="doc",
    needs_render=False,
    lane="live",
)
@observed
def rule_live_upgrade_keeps_data(ctx: Context, r: Rule, view: LiveView) -> Iterable[Finding]:
    outcome = view.upgrade
    if outcome is None:
        yield _note(r, "not evaluated: no upgrade was run for this case")
        return
    if outcome.after is None:
        yield _note(r, "the upgrade was not observed after it ran")
        return
    before_claims, after_claims = _data_volumes(outcome.before), _data_volumes(outcome.after)
    if (
        before_claims
        and not after_claims
        and (ctx.expectations is None or ctx.expectations.components.get(MONGODB) is not False)
    ):
        yield r.fail(
            ctx,
            f"no MongoDB pod mounts a claim after the upgrade (before: {', '.join(before_claims)})",
            expected="the same PersistentVolumeClaims",
            found="none",
            resource="StatefulSet (mongodb)",
        )
    for claim, uid in before_claims.items():
        if after_claims and outcome.after.uid("PersistentVolumeClaim", claim) != uid:
            yield r.fail(
                ctx,
                f"PersistentVolumeClaim/{claim} was replaced: MongoDB's data volume is a new object",
                expected=f"uid {uid}",
                found=f"uid {outcome.after.uid('PersistentVolumeClaim', claim)}",
                resource=f"PersistentVolumeClaim/{claim}",
                field_path="metadata.uid",
            )
        if after_claims and claim not in after_claims:
            yield r.fail(
                ctx,
                f"MongoDB no longer mounts PersistentVolumeClaim/{claim} (now: "
                f"{', '.join(after_claims) or 'none'}): the data stays behind",
                expected=claim,
                found=", ".join(after_claims) or "none",
                resource=f"PersistentVolumeClaim/{claim}",
                field_path="spec.volumes",
            )
    still_read = _data_secrets(outcome.after)
    before_names = {s["metadata"]["name"] for s in outcome.before.of("Secret")}
    created = sorted(
        s["metadata"]["name"]
        for s in outcome.after.of("Secret")
        if s["metadata"]["name"] not in before_names
        and not s["metadata"]["name"].startswith("sh.helm.release.")
    )
    for name, uid in sorted(_data_secrets(outcome.before).items()):
        now = outcome.after.uid("Secret", name)
        if now != uid:
            also = " and pods still reference it" if name in still_read else ""
            new = f"; Secrets the upgrade created: {', '.join(created)}" if created else ""
            yield r.fail(
                ctx,
                f"Secret/{name} (MongoDB credentials or mongo-uri) was "
                f"{'deleted' if now is None else 'replaced'} by the upgrade{also}{new}",
                expected=f"Secret/{name} uid {uid}",
                found=f"uid {now}" if now else "absent",
                resource=f"Secret/{name}",
                field_path="metadata.uid",
            )


@rule(
    "live.upgrade-no-restart",
    title="an upgrade with unchanged values restarts no pod (same pod UIDs and ReplicaSets)",
    contract="CONTRACT.md > Upgrades (an upgrade changes only what it must; a rollout of an unchanged release "
    "disconnects every WebSocket and, for stream-hub, risks two hubs)",
    fix="remove per-render randomness from pod templates (randAlphaNum/now/uuid annotations, 'rollme' patterns)",
    basis="chart behaviour",
    needs_render=False,
    lane="live",
)
@observed
def rule_live_upgrade_no_restart(ctx: Context, r: Rule, view: LiveView) -> Iterable[Finding]:
    change = view.restart
    if change is None:
        yield _note(r, "not evaluated: no unchanged-values upgrade was run for this case")
        return
    for deployment, rs in sorted(change.replica_sets_before.items()):
        after = change.replica_sets_after.get(deployment)
        if after != rs:
            yield r.fail(
                ctx,
                f"Deployment/{deployment} rolled out a new ReplicaSet on {change.description}",
                expected=f"ReplicaSet/{rs}",
                found=f"ReplicaSet/{after}",
                resource=f"Deployment/{deployment}",
                field_path="spec.template",
            )
    gone = sorted(n for n, uid in change.before.items() if change.after.get(n) != uid)
    if gone:
        new = sorted(n for n in change.after if n not in change.before)
        yield r.fail(
            ctx,
            f"{len(gone)} pod(s) replaced on {change.description}: {', '.join(gone[:6])}",
            expected="the same pods (same UIDs)",
            found=f"new pods: {', '.join(new[:6]) or 'none'}",
            resource="pods",
            field_path="metadata.uid",
        )


# -- drift (audit) ---------------------------------------------------------------------------------


def _images(body: dict) -> dict[str, str]:
    spec = ((body.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {str(c.get("name")): str(c.get("image")) for c in spec.get("containers") or []}


def _ports(body: dict) -> list[tuple]:
    return sorted(
        (str(p.get("name", "")), p.get("port"), str(p.get("targetPort", p.get("port"))))
        for p in (body.get("spec") or {}).get("ports") or []
    )


@rule(
    "live.drift",
    title="the live objects match the release's manifest (no replicas, images, selectors or ports changed by hand)",
    contract="CONTRACT.md > Values contract (the values decide replicas and images; a hand edit is undone by the "
    "next helm upgrade and hides what the release really runs)",
    fix="put the change into the values and helm upgrade, or undo the hand edit (kubectl rollout undo / scale back)",
    basis="chart behaviour",
    needs_render=False,
    lane="live",
)
@with_state
def rule_live_drift(ctx: Context, r: Rule, view: LiveView, state: LiveState) -> Iterable[Finding]:
    if view.release_topology is None:
        yield _note(r, "not evaluated: the release's manifest could not be read")
        return
    autoscaled = {(a.target_kind, a.target_name) for a in state.topology.autoscalers}
    for manifest in view.release_topology.manifests:
        if manifest.kind not in ("Deployment", "StatefulSet", "Service", "Ingress", "Secret"):
            continue
        live = state.get(manifest.kind, manifest.name)
        if live is None:
            yield r.fail(
                ctx,
                f"{manifest.ref} is in the release but not in the cluster (deleted by hand?)",
                expected="present",
                found="absent",
                resource=manifest.ref,
                manifest=manifest,
            )
            continue
        want, have = manifest.body, live
        if manifest.kind in ("Deployment", "StatefulSet"):
            declared = (want.get("spec") or {}).get("replicas", 1)
            actual = (have.get("spec") or {}).get("replicas", 1)
            if declared != actual and (manifest.kind, manifest.name) not in autoscaled:
                yield r.fail(
                    ctx,
                    f"{manifest.ref} runs {actual} replicas; the release says {declared}",
                    expected=str(declared),
                    found=str(actual),
                    resource=manifest.ref,
                    field_path="spec.replicas",
                    manifest=manifest,
                )
            want_images, have_images = _images(want), _images(have)
            for container, image in sorted(want_images.items()):
                if have_images.get(container) != image:
                    yield r.fail(
                        ctx,
                        f"{manifest.ref} container {container} runs {have_images.get(container)}; the "
                        f"release says {image}",
                        expected=image,
                        found=str(have_images.get(container)),
                        resource=manifest.ref,
                        field_path=f"spec.template.spec.containers[{container}].image",
                        manifest=manifest,
                    )
        elif manifest.kind == "Service":
            want_sel, have_sel = (
                (want.get("spec") or {}).get("selector"),
                (have.get("spec") or {}).get("selector"),
            )
            if (want_sel or None) != (have_sel or None):
                yield r.fail(
                    ctx,
                    f"{manifest.ref} selector is {have_sel}; the release says {want_sel}",
                    expected=str(want_sel),
                    found=str(have_sel),
                    resource=manifest.ref,
                    field_path="spec.selector",
                    manifest=manifest,
                )
            if _ports(want) != _ports(have):
                yield r.fail(
                    ctx,
                    f"{manifest.ref} ports differ from the release",
                    expected=str(_ports(want)),
                    found=str(_ports(have)),
                    resource=manifest.ref,
                    field_path="spec.ports",
                    manifest=manifest,
                )
        elif manifest.kind == "Secret":
            want_keys = set(want.get("data") or {}) | set(want.get("stringData") or {})
            have_keys = set(have.get("data") or {})
            if want_keys != have_keys:
                yield r.fail(
                    ctx,
                    f"{manifest.ref} keys are {sorted(have_keys)}; the release says {sorted(want_keys)}",
                    expected=str(sorted(want_keys)),
                    found=str(sorted(have_keys)),
                    resource=manifest.ref,
                    field_path="data",
                    manifest=manifest,
                )
