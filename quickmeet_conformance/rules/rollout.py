"""Rules on how a component rolls out: a ddp-streamer rollout must keep a WebSocket server up."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..chart_reads import reads_path
from ..findings import Finding, Severity
from ..topology import DDP_STREAMER
from .chart_defects import values_remedy
from .context import RenderedContext
from .engine import Rule, rule

_KEY = "microservices.ddpStreamer.replicas"


def max_unavailable(strategy: dict, replicas: int) -> int:
    """Pods a RollingUpdate may take down at once (Kubernetes: a percentage rounds down; default 25%)."""
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        try:
            return math.floor(replicas * float(value[:-1]) / 100)
        except ValueError:
            return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@rule(
    "rollout.ddp-streamer-keeps-one",
    title="a ddp-streamer rollout keeps at least one WebSocket server (maxUnavailable < replicas)",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Components: ddp-streamer: every WebSocket (/websocket and /sockjs go only to it): "
    "a rollout that may stop every pod at once leaves clients with no WebSocket server",
    fix="raise microservices.ddpStreamer.replicas above maxUnavailable (2+), or roll out with maxUnavailable: 0 "
    "and maxSurge: 1",
    basis="chart behaviour",
)
def rule_ddp_streamer_rollout_keeps_one(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload in ctx.topology.components(DDP_STREAMER):
        if workload.kind != "Deployment":
            continue
        strategy = workload.strategy or {}
        kind = strategy.get("type", "RollingUpdate")
        replicas = workload.effective_replicas
        down = replicas if kind == "Recreate" else max_unavailable(strategy, replicas)
        if replicas > 0 and down >= replicas:
            shown = (
                "Recreate"
                if kind == "Recreate"
                else (
                    f"RollingUpdate maxUnavailable {(strategy.get('rollingUpdate') or {}).get('maxUnavailable', '25%')}"
                )
            )
            yield r.fail(
                ctx,
                f"ddp-streamer {workload.ref} rolls out with {shown} on {replicas} replica(s): every "
                "WebSocket server may be down at once during an upgrade",
                expected="maxUnavailable < replicas",
                found=f"{shown}, replicas {replicas}",
                workload=workload,
                field_path="spec.strategy",
                key_path=_KEY,
                remedy=values_remedy(ctx.values_file, _KEY) if reads_path(ctx.chart.reads, _KEY) else None,
            )
