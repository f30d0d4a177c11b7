"""Bounded waits on a freshly created cluster, through the package's one Kubernetes client.

Each wait has a success condition and a failure condition (a container that will not start by waiting
longer), so it stops early with the reason instead of running into its timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from quickmeet_conformance.clusters.processes import wait_for
from quickmeet_conformance.errors import ToolError

REQUEST_TIMEOUT_S = 10.0
# a container waiting for one of these will not become ready by waiting longer
FATAL_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "CrashLoopBackOff",
        "RunContainerError",
    }
)
NODE_LOGS_FIX = (
    "the node's logs: docker exec <cluster>-control-plane journalctl -u kubelet "
    "(or rerun with --keep-cluster and `kind export logs`)"
)


def _ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class ClusterWaiter:
    """Bounded waits on a cluster through ``KubeClient``; each stops early with the reason."""

    FATAL_WAITING = FATAL_WAITING

    def __init__(self, kubeconfig: Path, context: str, *, where: str) -> None:
        from quickmeet_conformance.clusters.kubeclient import KubeClient  # with the cluster, not at import

        self.where = where
        self.kube = KubeClient.from_kubeconfig(kubeconfig, context, timeout_s=REQUEST_TIMEOUT_S)

    def close(self) -> None:
        self.kube.close()

    def server_version(self) -> str:
        return self.kube.server_version()

    def _wait(
        self, what: str, ready: Callable[[], bool], failure: Callable[[], str | None], timeout: float
    ) -> None:
        try:
            wait_for(f"{self.where}: {what}", ready, timeout=timeout, failure=failure, interval=1.0)
        except ToolError as exc:
            raise ToolError(exc.what, fix=NODE_LOGS_FIX) from None

    def nodes_ready(self) -> bool:
        nodes = self.kube.list_objects("Node", timeout=REQUEST_TIMEOUT_S)
        return bool(nodes) and all(_ready(n) for n in nodes)

    def _pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return self.kube.list_objects("Pod", namespace, label_selector=selector, timeout=REQUEST_TIMEOUT_S)

    def pods_ready(self, namespace: str, selector: str) -> bool:
        pods = self._pods(namespace, selector)
        return bool(pods) and all(_ready(p) for p in pods)

    def pod_failure(self, namespace: str, selector: str) -> str | None:
        for pod in self._pods(namespace, selector):
            status, name = pod.get("status"), (pod.get("metadata") or {}).get("name")
            if not status or name is None:
                continue
            for container in (status.get("containerStatuses") or []) + (
                status.get("initContainerStatuses") or []
            ):
                waiting = (container.get("state") or {}).get("waiting")
                reason = (waiting or {}).get("reason")
                if (
                    waiting is not None
                    and reason in self.FATAL_WAITING
                    and (reason != "CrashLoopBackOff" or (container.get("restartCount") or 0) >= 3)
                ):
                    return (
                        f"pod {namespace}/{name} container {container.get('name')}: {reason}: "
                        f"{(waiting.get('message') or '')[:200]}"
                    )
        return None

    def _safe(self, check: Callable[[], str | None]) -> Callable[[], str | None]:
        def guarded() -> str | None:
            try:
                return check()
            except Exception:  # the API server may still be starting; ready() reports the last error
                return None

        return guarded

    def default_storage_class(self) -> bool:
        classes = self.kube.list_objects("StorageClass", timeout=REQUEST_TIMEOUT_S)
        return any(
            ((c.get("metadata") or {}).get("annotations") or {}).get(
                "storageclass.kubernetes.io/is-default-class"
            )
            == "true"
            for c in classes
        )

    def wait_pods_ready(self, namespace: str, selector: str, timeout: float) -> None:
        self._wait(
            f"pods {selector} in {namespace} ready",
            lambda: self.pods_ready(namespace, selector),
            self._safe(lambda: self.pod_failure(namespace, selector)),
            timeout,
        )

    def wait_ready(self, timeout: float) -> None:
        """Node Ready, CoreDNS ready, a default StorageClass whose provisioner runs: what the chart needs."""
        deadline = time.monotonic() + timeout
        left = lambda: max(1.0, deadline - time.monotonic())  # noqa: E731 - one shared deadline
        self._wait(
            "node Ready", self.nodes_ready, self._safe(lambda: self.pod_failure("kube-system", "")), left()
        )
        self.wait_pods_ready("kube-system", "k8s-app=kube-dns", left())
        self._wait("a default StorageClass", self.default_storage_class, lambda: None, left())
        self.wait_pods_ready("local-path-storage", "app=local-path-provisioner", left())
