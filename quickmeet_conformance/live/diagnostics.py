"""What a failing live test attaches to its report: events, pod statuses and ``kubectl describe``.

Everything passes through the case's redactor before it is returned.
"""

from __future__ import annotations

from typing import Callable

from ..errors import ToolError
from .kube import Kubectl

MAX_SECTION_CHARS = 12000


def _section(title: str, text: str) -> str:
    text = text.strip() or "(nothing)"
    if len(text) > MAX_SECTION_CHARS:
        text = text[:MAX_SECTION_CHARS] + f"\n... ({len(text) - MAX_SECTION_CHARS} more characters cut)"
    return f"--- {title} ---\n{text}\n"


def collect(kubectl: Kubectl, namespace: str, redact: Callable[[str], str], *, describe: tuple[str, ...] = ()) -> str:
    """Events (oldest first), pods with their status, and ``describe`` of the given refs (default: the
    namespace's Deployments, StatefulSets and pods that are not Ready)."""
    parts = []

    def run(title: str, *args: str) -> None:
        try:
            result = kubectl.run(*args, timeout=20, check=False)
            parts.append(_section(title, result.stdout if result.returncode == 0 else result.stderr))
        except ToolError as exc:
            parts.append(_section(title, exc.line()))

    run("events", "get", "events", "-n", namespace, "--sort-by=.metadata.creationTimestamp")
    run("pods", "get", "pods", "-n", namespace, "-o", "wide")
    run("workloads", "get", "deployments,statefulsets,replicasets", "-n", namespace, "-o", "wide")
    targets = describe or _not_ready(kubectl, namespace)
    if targets:
        run(f"describe {' '.join(targets)}", "describe", "-n", namespace, *targets)
    return redact("".join(parts))


def _not_ready(kubectl: Kubectl, namespace: str) -> tuple[str, ...]:
    try:
        pods = kubectl.get_json("pods", "-n", namespace, timeout=20).get("items") or []
    except ToolError:
        return ()
    refs = []
    for pod in pods:
        conditions = (pod.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            refs.append(f"pod/{pod['metadata']['name']}")
    return tuple(refs[:5])
