"""Live rules on the connections every component makes before it serves (CONTRACT.md > Connections): MongoDB
(``MONGO_URL``, ``MONGO_OPLOG_URL``) and, in microservices mode, NATS (``TRANSPORTER``).

A service that cannot connect stops: its container ends with the driver's error as its termination message
(Kubernetes keeps it as ``lastState.terminated.message``; the kind lane's stand-ins write it there as the
real services' logs say it), and the pod restarts without becoming Ready. The rule reads those messages from
the snapshot: one failure per backend, naming the workloads whose pods cannot connect and the first error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...findings import Finding
from ...live.state import LiveState, LiveView
from ...rules.engine import Rule, rule
from .context import LiveContext, with_state

# What a termination message starts with -> the backend it names (CONTRACT.md > Connections).
BACKENDS = {"MongoDB": "MONGO_URL / MONGO_OPLOG_URL", "NATS": "TRANSPORTER"}


def _owner(state: LiveState, pod: dict[str, Any]) -> str:
    """``Deployment/x`` or ``StatefulSet/x`` of a pod (its ReplicaSet's owner), else ``Pod/<name>``."""
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == "ReplicaSet":
            rs = state.get("ReplicaSet", str(ref.get("name")))
            for owner in ((rs or {}).get("metadata") or {}).get("ownerReferences") or []:
                if owner.get("kind") == "Deployment":
                    return f"Deployment/{owner.get('name')}"
            return f"ReplicaSet/{ref.get('name')}"
        if ref.get("kind") == "StatefulSet":
            return f"StatefulSet/{ref.get('name')}"
    return f"Pod/{(pod.get('metadata') or {}).get('name')}"


def connection_errors(state: LiveState, *, settled: bool = True) -> dict[str, dict[str, str]]:
    """``{backend: {workload: first error}}`` from the containers' termination messages.

    ``settled``: the release rolled out. Then a Ready container connected since its last stop (a restart
    while MongoDB was still starting is no refusal) and only containers not Ready count. A release that
    never rolled out counts Ready ones too: a service without a readiness probe is Ready while its driver
    still waits for a server it will never select (a wrong replica set), between two stops."""
    found: dict[str, dict[str, str]] = {}
    for pod in state.pods():
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for cs in statuses:
            if cs.get("ready") and settled:
                continue
            for key in ("state", "lastState"):
                message = str((((cs.get(key) or {}).get("terminated") or {}).get("message")) or "").strip()
                backend = message.split(":", 1)[0]
                if backend in BACKENDS:
                    found.setdefault(backend, {}).setdefault(
                        _owner(state, pod), message.splitlines()[0][:400]
                    )
    return found


@rule(
    "live.connections",
    title="every component connects to MongoDB and NATS with what the release gives it",
    contract="CONTRACT.md > Connections (MONGO_URL must name the server's replica set and a user it has; "
    "TRANSPORTER must carry credentials the NATS server accepts)",
    fix="make the client side and the server side agree: the password (and its percent-encoding), the "
    "replicaSet name and host in MONGO_URL; the user/token in TRANSPORTER and the NATS authorization block",
    basis="doc",
    needs_render=False,
    lane="live",
)
@with_state
def rule_live_connections(ctx: LiveContext, r: Rule, view: LiveView, state: LiveState) -> Iterable[Finding]:
    for backend, by_workload in sorted(connection_errors(state, settled=not view.rollout_error).items()):
        workloads = sorted(by_workload)
        first = by_workload[workloads[0]]
        yield r.fail(
            ctx,
            f"{backend} refuses {', '.join(workloads)}: {first}",
            expected=f"every component connected with {BACKENDS[backend]}",
            found=f"{len(workloads)} workload(s) stopped on their {backend} connection",
            resource=", ".join(workloads),
        )
