"""Live rules on what changes over a real helm upgrade: stream-hub never runs twice, the API server
accepts the upgrade, WebSockets hand over, MongoDB's data stays, and an unchanged upgrade restarts nothing."""

from __future__ import annotations

from collections.abc import Iterable

from ...findings import Finding, Verdict, passed
from ...live.state import NOT_ANSWERED, WEBSOCKET_ROUTES, LiveState, LiveView
from ...rules.engine import Rule, rule
from ...topology import DDP_STREAMER, MONGODB, MONOLITH
from .context import LiveContext, note, observed

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
def rule_live_streamhub_peak_one(ctx: LiveContext, r: Rule, view: LiveView) -> Iterable[Finding]:
    hub = view.hub
    if hub is None:
        yield note(r, "not evaluated: no upgrade was watched for this case")
        return
    if hub.peak == 0 and not hub.timeline:
        yield note(r, f"no stream-hub pod existed during {hub.description}")
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
        yield note(r, f"{hub.description} removed stream-hub: its pod was deleted and none started")
    elif not hub.replaced:
        yield note(
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
def rule_live_upgrade_accepted(ctx: LiveContext, r: Rule, view: LiveView) -> Iterable[Finding]:
    outcome = view.upgrade
    if outcome is None:
        yield note(r, "not evaluated: no upgrade was run for this case")
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
def rule_live_upgrade_websocket_handover(ctx: LiveContext, r: Rule, view: LiveView) -> Iterable[Finding]:
    outcome = view.upgrade
    if outcome is None or not outcome.accepted:
        yield note(r, "not evaluated: no upgrade was applied for this case")
        return
    if not outcome.websocket_after:
        yield note(
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
def rule_live_upgrade_keeps_data(ctx: LiveContext, r: Rule, view: LiveView) -> Iterable[Finding]:
    outcome = view.upgrade
    if outcome is None:
        yield note(r, "not evaluated: no upgrade was run for this case")
        return
    if outcome.after is None:
        yield note(r, "the upgrade was not observed after it ran")
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
def rule_live_upgrade_no_restart(ctx: LiveContext, r: Rule, view: LiveView) -> Iterable[Finding]:
    change = view.restart
    if change is None:
        yield note(r, "not evaluated: no unchanged-values upgrade was run for this case")
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
