"""Wait for a namespace's Deployments and StatefulSets to finish rolling out, by watching them.

Success: every workload observed its latest generation and has all replicas updated, ready and available
(and no old pod left). Failure stops the wait early with the reason: a Deployment past its progress
deadline or with a ReplicaFailure, a pod that cannot start (image pull, missing Secret key, a crash loop
of CRASH_LOOP_RESTARTS restarts, phase Failed), or a pod that stays Unschedulable.

The deadline is the longer of the configured timeout and what the release's own probes allow
(:func:`probe_allowance_s`): a chart whose liveness probe waits 300 s before it judges a pod is given that
time, so a busy machine that makes its pods slow to start does not fail a correct release.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..clusters.kubeclient import KubeClient
from ..progress import Waited, waiting

DEFAULT_ROLLOUT_TIMEOUT_S = 120.0
RESYNC_S = 10.0  # re-list this often while waiting, as informers resync
STUCK_S = 30.0  # then say once what the pods are doing
UNSCHEDULABLE_GRACE_S = 5.0  # a claim binding makes a pod briefly unschedulable; a wrong nodeSelector stays
STUCK_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "CrashLoopBackOff",
        "RunContainerError",
    }
)
# a container restarted this often is crash looping; one restart can be a liveness probe that a loaded
# machine's slow start ran out (the kubelet's back-off then says CrashLoopBackOff after a single restart)
CRASH_LOOP_RESTARTS = 3
# what the probes' bounds leave out: scheduling, volume binding, container start (images are local)
START_MARGIN_S = 30.0


@dataclass(frozen=True)
class RolloutResult:
    ok: bool
    seconds: float
    reason: str = ""  # why it failed (or what was still missing at the deadline)
    deadline_s: float = 0.0  # the bound the wait had (configured, or longer when the release's probes allow)

    def waited(self, what: str) -> Waited:
        return Waited(what, self.seconds, self.ok, self.deadline_s, self.reason)


def _replicas(obj: dict[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def workload_pending(obj: dict[str, Any]) -> str:
    """'' when ``obj`` (a Deployment or StatefulSet) is rolled out, else what it still waits for."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    ref = f"{obj.get('kind')}/{meta.get('name')}"
    want = _replicas(obj)
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return f"{ref}: generation not observed yet"
    updated, ready = int(status.get("updatedReplicas") or 0), int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    total = int(status.get("replicas") or 0)
    if (
        obj.get("kind") == "StatefulSet"
        and status.get("currentRevision") != status.get("updateRevision")
        and updated < want
    ):
        return f"{ref}: {updated}/{want} updated"
    if updated < want or ready < want or available < want:
        return f"{ref}: {available}/{want} available, {updated}/{want} updated"
    if total > want:
        return f"{ref}: {total - want} old pod(s) still running"
    return ""


def workload_failure(obj: dict[str, Any]) -> str:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("status") == "False":
            return f"{obj.get('kind')}/{obj['metadata']['name']}: {cond.get('reason')}: {cond.get('message', '')}"
        if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
            return f"{obj.get('kind')}/{obj['metadata']['name']}: {cond.get('reason')}: {cond.get('message', '')}"
    return ""


def pod_failure(pod: dict[str, Any], now: float, first_unschedulable: dict[str, float]) -> str:
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        return f"Pod/{name} failed: {status.get('reason', '')} {status.get('message', '')}".strip()
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        waiting_state = (cs.get("state") or {}).get("waiting") or {}
        if waiting_state.get("reason") in STUCK_REASONS and (
            waiting_state.get("reason") != "CrashLoopBackOff"
            or int(cs.get("restartCount") or 0) >= CRASH_LOOP_RESTARTS
        ):
            reason, message = waiting_state["reason"], waiting_state.get("message", "")
            return f"Pod/{name} container {cs.get('name')}: {reason}: {message}"
    for cond in status.get("conditions") or []:
        if (
            cond.get("type") == "PodScheduled"
            and cond.get("status") == "False"
            and cond.get("reason") == "Unschedulable"
        ):
            since = first_unschedulable.setdefault(name, now)
            if now - since >= UNSCHEDULABLE_GRACE_S:
                return f"Pod/{name} is unschedulable: {cond.get('message', '')}"
    return ""


def _probe_bound(probe: dict[str, Any] | None, *, failures: bool) -> float:
    """Seconds from container start until ``probe`` has judged: its first result (readiness) or its last
    allowed failure (``failures``: startup and liveness), with Kubernetes' defaults for unset fields."""
    if not probe:
        return 0.0
    delay = float(probe.get("initialDelaySeconds") or 0)
    period = float(probe.get("periodSeconds") or 10)
    timeout = float(probe.get("timeoutSeconds") or 1)
    count = int(probe.get("failureThreshold") or 3) if failures else int(probe.get("successThreshold") or 1)
    return delay + count * (period + timeout)


def pod_allowance_s(pod_spec: dict[str, Any]) -> float:
    """How long a pod of this spec may take to become Ready by its own probes without being called broken:
    until the startup probe (else the liveness probe) gives up on a container, then one readiness period; or
    the readiness probe's first success, whichever is later."""
    longest = 0.0
    for container in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
        ready = container.get("readinessProbe")
        ready_period = float((ready or {}).get("periodSeconds") or 10) if ready else 0.0
        started = _probe_bound(container.get("startupProbe"), failures=True)
        alive = _probe_bound(container.get("livenessProbe"), failures=True)
        longest = max(longest, (started or alive) + ready_period, _probe_bound(ready, failures=False))
    return longest


def _surge(obj: dict[str, Any], replicas: int) -> int:
    rolling = ((obj.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    value = rolling.get("maxSurge", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return max(1, math.ceil(replicas * float(value[:-1]) / 100))
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def workload_allowance_s(obj: dict[str, Any]) -> float:
    """How long a rollout of this Deployment or StatefulSet may take by the release's own timings: one pod's
    allowance (plus minReadySeconds) per batch; a StatefulSet starts its pods one by one (OrderedReady), a
    Deployment rolls ``maxSurge`` at a time."""
    spec = obj.get("spec") or {}
    replicas = _replicas(obj)
    per_pod = pod_allowance_s((spec.get("template") or {}).get("spec") or {}) + float(
        spec.get("minReadySeconds") or 0
    )
    if obj.get("kind") == "StatefulSet":
        batches = replicas if spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady" else 1
    else:
        batches = math.ceil(replicas / _surge(obj, replicas)) if replicas else 0
    return per_pod * max(1, batches)


def probe_allowance_s(objects: list[dict[str, Any]]) -> tuple[float, str]:
    """The longest workload allowance among ``objects`` plus START_MARGIN_S, and which workload it is."""
    best, which = 0.0, ""
    for obj in objects:
        if obj.get("kind") in ("Deployment", "StatefulSet"):
            allowance = workload_allowance_s(obj)
            if allowance > best:
                best, which = allowance, f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
    return (best + START_MARGIN_S if which else 0.0), which


class RolloutWatch:
    """Watches Deployments, StatefulSets and Pods of a namespace and decides done/failed on each event."""

    KINDS = ("Deployment", "StatefulSet", "Pod")

    def __init__(self, kube: KubeClient, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self._unschedulable: dict[str, float] = {}
        self.resyncs = 0
        self._synced_at = time.monotonic()
        self._changed = threading.Condition()
        self._watches = [kube.watch(kind, namespace, self._on_event) for kind in self.KINDS]

    def _on_event(self, kind: str, obj: dict[str, Any]) -> None:
        key = (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))
        with self._changed:
            if kind == "DELETED":
                self.objects.pop(key, None)
            else:
                self.objects[key] = obj
            self._changed.notify_all()

    def resync(self) -> None:
        """Replace the watched state with a fresh list (objects gone from it are gone)."""
        listing = self.kube.list_kinds(self.KINDS, self.namespace)
        fresh = {(str(o.get("kind")), str((o.get("metadata") or {}).get("name"))): o for o in listing}
        with self._changed:
            self.objects = fresh
            self.resyncs += 1
            self._synced_at = time.monotonic()
            self._changed.notify_all()

    def pod_summary(self) -> str:
        """One line per the namespace's pods: phase, Ready, deleting (for a wait that takes long)."""
        parts = []
        for (kind, name), obj in sorted(self.objects.items()):
            if kind != "Pod":
                continue
            status = obj.get("status") or {}
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
            )
            deleting = " deleting" if obj["metadata"].get("deletionTimestamp") else ""
            parts.append(f"{name} {status.get('phase', '?')}{' ready' if ready else ''}{deleting}")
        return "; ".join(parts) or "none"

    def verdict(self) -> tuple[bool, str, str]:
        """(done, failure reason, what is pending)."""
        now = time.monotonic()
        pending, failures = [], []
        for (kind, _), obj in sorted(self.objects.items()):
            if kind in ("Deployment", "StatefulSet"):
                failures.append(workload_failure(obj))
                pending.append(workload_pending(obj))
            elif kind == "Pod" and not obj["metadata"].get("deletionTimestamp"):
                failures.append(pod_failure(obj, now, self._unschedulable))
        failure = next((f for f in failures if f), "")
        still = [p for p in pending if p]
        return not still, failure, "; ".join(still)

    def deadline_s(self, timeout_s: float) -> tuple[float, str]:
        """The wait's bound: ``timeout_s``, or longer when the workloads' own probes allow longer."""
        with self._changed:
            objects = list(self.objects.values())
        allowance, which = probe_allowance_s(objects)
        if allowance > timeout_s:
            return allowance, f"{allowance:g}s, as the probes of {which} allow"
        return timeout_s, f"{timeout_s:g}s"

    def wait(self, timeout_s: float, write: Callable[[str], None], what: str) -> RolloutResult:
        start = time.monotonic()
        # one list first: often everything is rolled out already, and the watches then start from it
        self.resync()
        timeout_s, bound = self.deadline_s(timeout_s)
        deadline = start + timeout_s
        done, failure, _ = self.verdict()
        if done and not failure:
            return RolloutResult(True, time.monotonic() - start, deadline_s=timeout_s)
        for watch in self._watches:
            watch.start()
        explained = False
        try:
            with waiting(what, write=write, every_s=5.0) as progress:
                while True:
                    with self._changed:
                        done, failure, pending = self.verdict()
                        if failure:
                            return RolloutResult(False, time.monotonic() - start, failure, timeout_s)
                        if done:
                            return RolloutResult(True, time.monotonic() - start, deadline_s=timeout_s)
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return RolloutResult(
                                False,
                                time.monotonic() - start,
                                f"not rolled out after {bound}: {pending}; pods: {self.pod_summary()}",
                                timeout_s,
                            )
                        dead = [w for w in self._watches if w.ended]
                        if dead:
                            return RolloutResult(
                                False,
                                time.monotonic() - start,
                                f"the watch on {dead[0].resource} ended: {dead[0].error or 'no reason'}",
                                timeout_s,
                            )
                        progress.update(pending)
                        # wake on the next event, or after a second to re-check the unschedulable grace
                        self._changed.wait(min(1.0, left))
                    if time.monotonic() - self._synced_at >= RESYNC_S:
                        self.resync()  # an informer's resync: a watch that silently fell behind is caught up
                        if not explained and time.monotonic() - start >= STUCK_S:
                            explained = True
                            write(f"{what}: still waiting; pods: {self.pod_summary()}")
        finally:
            for watch in self._watches:
                watch.stop()


def wait_for_rollout(
    kube: KubeClient,
    namespace: str,
    *,
    timeout_s: float = DEFAULT_ROLLOUT_TIMEOUT_S,
    write: Callable[[str], None] = lambda line: None,
    what: str = "",
) -> RolloutResult:
    return RolloutWatch(kube, namespace).wait(timeout_s, write, what or f"rollout in namespace {namespace}")
