"""Rules on stream-hub: never more than one pod, not by replicas, not by an autoscaler, not in a rollout."""

from __future__ import annotations

from collections.abc import Iterable

from ..findings import Finding
from ..topology import STREAM_HUB
from .chart_defects import remedy_for
from .context import RenderedContext
from .engine import Rule, rule

_KEY = "microservices.streamHub.replicas"
# keys that would set the hub's rollout strategy, were a chart to read one (6.2x charts read none)
_STRATEGY_KEYS = ("microservices.streamHub.strategy", "microservices.streamHub.updateStrategy")
_ROLLOUT_PATCH = """\
- {op: replace, path: /spec/strategy/rollingUpdate/maxSurge, value: 0}
- {op: replace, path: /spec/strategy/rollingUpdate/maxUnavailable, value: 1}"""


@rule(
    "streamhub.single-replica",
    title="stream-hub runs at most one replica",
    contract="CONTRACT.md > Components: stream-hub: NEVER more than one pod per deployment",
    fix="set microservices.streamHub.replicas: 1",
    basis="server code",
)
def rule_stream_hub_single_replica(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    hubs = ctx.topology.components(STREAM_HUB)
    total = sum(w.effective_replicas for w in hubs)
    if total > 1:
        yield r.fail(
            ctx,
            f"stream-hub would run {total} pods ({', '.join(f'{w.ref}={w.effective_replicas}' for w in hubs)})",
            expected="at most 1",
            found=str(total),
            workload=hubs[0],
            field_path="spec.replicas",
            key_path=_KEY,
        )


@rule(
    "streamhub.no-autoscaler",
    title="no HorizontalPodAutoscaler targets stream-hub",
    contract="CONTRACT.md > Components: stream-hub: NEVER more than one pod per deployment",
    fix="remove the HPA for stream-hub (it cannot scale)",
    basis="server code",
)
def rule_stream_hub_not_autoscaled(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload in ctx.topology.components(STREAM_HUB):
        for hpa in ctx.topology.autoscalers_for(workload):
            yield r.fail(
                ctx,
                f"HorizontalPodAutoscaler/{hpa.name} scales stream-hub ({workload.ref}) up to "
                f"{hpa.max_replicas}",
                expected="no autoscaler",
                found=f"HorizontalPodAutoscaler/{hpa.name}",
                resource=f"HorizontalPodAutoscaler/{hpa.name}",
                field_path="spec.scaleTargetRef",
                manifest=next(
                    (m for m in ctx.topology.manifests if m.ref == f"HorizontalPodAutoscaler/{hpa.name}"),
                    None,
                ),
            )


def _is_zero(value: object) -> bool:
    return value in (0, "0", "0%")


@rule(
    "streamhub.rollout-never-two",
    title="a stream-hub rollout never runs two pods (Recreate, or RollingUpdate with maxSurge 0)",
    contract="CONTRACT.md > Upgrades: stream-hub must never run two pods at once, not even during a rollout: "
    "RollingUpdate with maxSurge >= 1 on a one-replica Deployment briefly runs two",
    fix="set the stream-hub Deployment strategy to {type: Recreate} (or RollingUpdate with maxSurge: 0)",
    basis="chart behaviour",
)
def rule_stream_hub_rollout_never_two(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload in ctx.topology.components(STREAM_HUB):
        if workload.kind != "Deployment":
            continue  # StatefulSets replace a pod only after it is gone
        strategy = workload.strategy or {}
        kind = strategy.get("type", "RollingUpdate")
        if kind == "Recreate":
            continue
        surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")  # the API default
        if not _is_zero(surge):
            yield r.fail(
                ctx,
                f"stream-hub {workload.ref} rolls out with {kind} maxSurge {surge}: two hubs run "
                "during every upgrade",
                expected="Recreate, or RollingUpdate maxSurge 0",
                found=f"{kind} maxSurge {surge}",
                workload=workload,
                field_path="spec.strategy",
                remedy=remedy_for(
                    ctx,
                    workload,
                    keys=_STRATEGY_KEYS,
                    pattern=r"^\s*maxSurge:",
                    patch=_ROLLOUT_PATCH,
                    fixed_in="6.28.1 (its microservices.streamHub.enabled: false removes stream-hub)",
                )
                if kind == "RollingUpdate"
                else None,
            )
