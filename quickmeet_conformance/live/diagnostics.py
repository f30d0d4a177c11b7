"""What a failing live test attaches to its report: events, pod statuses, workloads, and a description of the
pods that are not Ready (conditions, container states, environment, their events), as ``kubectl describe``
would show them, read through the one Kubernetes client.

Everything passes through the case's redactor before it is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..clusters.kubeclient import KubeClient
from ..errors import ToolError

MAX_SECTION_CHARS = 12000
MAX_DESCRIBED = 5


def _section(title: str, text: str) -> str:
    text = text.strip() or "(nothing)"
    if len(text) > MAX_SECTION_CHARS:
        text = text[:MAX_SECTION_CHARS] + f"\n... ({len(text) - MAX_SECTION_CHARS} more characters cut)"
    return f"--- {title} ---\n{text}\n"


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _when(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def event_lines(events: list[dict[str, Any]], about: str | None = None) -> list[str]:
    """Events oldest first (only those about the object named ``about`` when given)."""
    lines = []
    for event in sorted(events, key=_when):
        target = event.get("involvedObject") or event.get("regarding") or {}
        if about is not None and target.get("name") != about:
            continue
        count = f" (x{event['count']})" if (event.get("count") or 1) > 1 else ""
        lines.append(
            f"{_when(event)}  {event.get('type', '')}  {event.get('reason', '')}  "
            f"{target.get('kind', '')}/{target.get('name', '')}: {event.get('message', '')}{count}"
        )
    return lines


def _images(pod_spec: dict[str, Any]) -> str:
    return ",".join(c.get("image", "") for c in pod_spec.get("containers") or [])


def pod_line(pod: dict[str, Any]) -> str:
    """Name, ready containers, phase, restarts, node and images (``kubectl get pods -o wide``)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    ready = sum(1 for c in containers if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in containers)
    deleting = " (deleting)" if (pod.get("metadata") or {}).get("deletionTimestamp") else ""
    return (
        f"{_name(pod)}  {ready}/{len(containers)} ready  {status.get('phase', '?')}{deleting}  "
        f"restarts {restarts}  node {spec.get('nodeName') or '-'}  {_images(spec)}"
    )


def workload_line(obj: dict[str, Any]) -> str:
    """Kind/name, ready/updated/available replicas and images of a Deployment, StatefulSet or ReplicaSet."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return (
        f"{obj.get('kind')}/{_name(obj)}  ready {status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}  "
        f"updated {status.get('updatedReplicas') or 0}  available {status.get('availableReplicas') or 0}  "
        f"{_images((spec.get('template') or {}).get('spec') or {})}"
    )


def _env_line(env: dict[str, Any]) -> str:
    if "value" in env:
        return f"      {env.get('name')}={env.get('value')}"
    source = env.get("valueFrom") or {}
    ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
    kind = "secret" if "secretKeyRef" in source else "configmap" if ref else "field"
    where = (
        f"{ref.get('name')}/{ref.get('key')}" if ref else str(source.get("fieldRef", {}).get("fieldPath", ""))
    )
    return f"      {env.get('name')} <- {kind} {where}"


def describe_pod(pod: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """What ``kubectl describe pod`` shows that explains a pod that is not Ready."""
    status = pod.get("status") or {}
    lines = [
        f"Pod/{_name(pod)}  phase {status.get('phase', '?')}  node {(pod.get('spec') or {}).get('nodeName') or '-'}"
    ]
    for cond in status.get("conditions") or []:
        reason = f" {cond.get('reason')}" if cond.get("reason") else ""
        message = f": {cond.get('message')}" if cond.get("message") else ""
        lines.append(f"  condition {cond.get('type')}={cond.get('status')}{reason}{message}")
    states = {c.get("name"): c for c in status.get("containerStatuses") or []}
    for container in (pod.get("spec") or {}).get("containers") or []:
        state = states.get(container.get("name")) or {}
        lines.append(
            f"  container {container.get('name')}  image {container.get('image')}  "
            f"ready {bool(state.get('ready'))}  restarts {state.get('restartCount', 0)}"
        )
        for label in ("state", "lastState"):
            for phase, detail in (state.get(label) or {}).items():
                text = " ".join(
                    f"{k}={v}" for k, v in (detail or {}).items() if k in ("reason", "message", "exitCode")
                )
                lines.append(f"    {label} {phase} {text}".rstrip())
        if container.get("env"):
            lines.append("    environment:")
            lines.extend(_env_line(env) for env in container["env"])
    lines.append("  events:")
    lines.extend(f"    {line}" for line in event_lines(events, about=_name(pod)) or ["(none)"])
    return lines


def collect(
    kube: KubeClient, namespace: str, redact: Callable[[str], str], *, describe: tuple[str, ...] = ()
) -> str:
    """Events (oldest first), pods with their status, workloads, and a description of the pods named in
    ``describe`` (default: the namespace's pods that are not Ready, at most MAX_DESCRIBED)."""
    parts = []

    def read(title: str, kinds: tuple[str, ...]) -> list[dict[str, Any]] | None:
        try:
            return kube.list_kinds(kinds, namespace, timeout=20)
        except ToolError as exc:
            parts.append(_section(title, exc.line()))
            return None

    events = read("events", ("Event",))
    if events is not None:
        parts.append(_section("events", "\n".join(event_lines(events))))
    pods = read("pods", ("Pod",))
    if pods is not None:
        parts.append(_section("pods", "\n".join(map(pod_line, pods))))
    workloads = read("workloads", ("Deployment", "StatefulSet", "ReplicaSet"))
    if workloads is not None:
        parts.append(_section("workloads", "\n".join(map(workload_line, workloads))))
    names = {ref.removeprefix("pod/") for ref in describe} or {_name(p) for p in pods or [] if not _ready(p)}
    targets = sorted((p for p in pods or [] if _name(p) in names), key=_name)[:MAX_DESCRIBED]
    if targets:
        text = "\n".join(line for pod in targets for line in describe_pod(pod, events or []))
        parts.append(_section(f"describe {' '.join('pod/' + _name(p) for p in targets)}", text))
    return redact("".join(parts))


def last_log_line(kube: KubeClient, pod: dict[str, Any], namespace: str) -> str:
    """The last non-empty line of the pod's main (first) container log, cut to 200 characters."""
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    try:
        text = kube.pod_log(_name(pod), namespace, container=containers[0].get("name", ""), timeout=10)
    except ToolError as exc:
        return f"(no log: {exc.line()[:120]})"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(empty log)"


def pod_states(kube: KubeClient, namespace: str, names: list[str]) -> dict[str, str]:
    """pod name -> what it is doing (phase, Ready, restarts, last log line), for a wait that gave up on it.
    A pod already gone says so; nothing here raises (a failed read is the state's text)."""
    try:
        pods = {_name(p): p for p in kube.list_objects("Pod", namespace, timeout=20)}
    except ToolError as exc:
        return {name: f"(pods not readable: {exc.line()[:120]})" for name in names}
    states = {}
    for name in names:
        pod = pods.get(name)
        if pod is None:
            states[name] = "gone from the cluster"
            continue
        status = pod.get("status") or {}
        restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
        ready = "Ready" if _ready(pod) else "not Ready"
        states[name] = (
            f"phase {status.get('phase', '?')}, {ready}, restarts {restarts}, "
            f"last log line: {last_log_line(kube, pod, namespace)}"
        )
    return states
