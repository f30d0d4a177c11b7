"""The live lane's cluster: the provider ``--cluster`` names, and the namespaces a run creates (and only those).

Each namespace carries the run's labels, so a leak is visible (``kubectl get ns -l quickmeet.chat/run=ID``)
and cleanup never touches a namespace the run did not create.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..clusters.base import ClusterHandle, ClusterProvider, ProviderSettings
from ..clusters.registry import provider_class
from ..errors import ToolError

if TYPE_CHECKING:  # the kubernetes client is imported when a cluster starts, not by every pytest session
    from ..clusters.kubeclient import KubeClient

MANAGED_BY = "quickmeet-conformance"
RUN_LABEL = "quickmeet.chat/run"
CASE_LABEL = "quickmeet.chat/case"


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "case"


@dataclass
class LiveCluster:
    """A reachable cluster for one pytest session (one xdist worker) and the namespaces it created."""

    handle: ClusterHandle
    kube: KubeClient
    run_id: str
    provider: ClusterProvider | None = None
    owned: bool = False  # the provider owns the cluster (ClusterProvider.owns_cluster): kwok, kind
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    start_seconds: float = 0.0

    @property
    def alive(self) -> bool:
        """False once the provider stopped (e.g. the SIGINT handler stopped kwok first)."""
        if self.provider is None or not self.owned:
            return True
        return self.provider.running()

    def create_namespace(self, case: str) -> str:
        name = f"qmc-{_slug(case, 44)}-{secrets.token_hex(3)}"
        labels = {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            RUN_LABEL: self.run_id,
            CASE_LABEL: _slug(case, 63),
        }
        manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        self.kube.create(manifest)
        self.created.append(name)
        return name

    def delete_namespace(self, name: str) -> None:
        """Delete a namespace this run created (never another one); returns at once, cleanup waits at the end."""
        if name not in self.created or name in self.deleted:
            return
        self.deleted.append(name)
        if not self.alive:
            return
        try:
            self.kube.delete("Namespace", name)
        except ToolError:
            pass  # reported by cleanup() if it is still there

    def release_volumes(self) -> None:
        """Make the volumes of deleted claims reusable (kwok's Retain PVs; a no-op for other providers)."""
        if self.provider is not None and self.owned and self.alive:
            try:
                self.provider.release_volumes()
            except ToolError:
                pass

    def remaining(self) -> list[str]:
        """Namespaces of this run that still exist."""
        try:
            listing = self.kube.list_objects(
                "Namespace", label_selector=f"{RUN_LABEL}={self.run_id}", timeout=20
            )
        except ToolError:
            return []
        return [ns["metadata"]["name"] for ns in listing]

    def cleanup(self, wait_s: float) -> list[str]:
        """Delete every namespace still open; wait for them to be gone when the cluster outlives the run."""
        for name in list(self.created):
            self.delete_namespace(name)
        if not self.alive or (self.owned and wait_s <= 0):
            return []
        left = [n for n in self.remaining() if n in self.created]
        try:
            return self.kube.wait_gone("Namespace", left, None, wait_s) if left else []
        except ToolError:
            return [n for n in self.remaining() if n in self.created]

    def stop(self) -> None:
        if self.provider is not None and self.owned:
            self.provider.stop()


def start_cluster(cluster: str, *, run_id: str, settings: ProviderSettings) -> LiveCluster:
    """Start (or attach to) the ``--cluster`` cluster and connect the package's client to it."""
    from ..extras import require_live

    kind = provider_class(cluster)
    require_live("kubernetes", "pyhelm3", *kind.requires, what=f"the live lane (--cluster {cluster})")
    provider = kind.for_live_lane(settings)
    owned = kind.owns_cluster
    start = time.monotonic()
    try:
        handle = provider.start()
    except BaseException:
        if owned:
            provider.stop()
        raise
    try:
        from ..clusters.kubeclient import KubeClient

        kube = KubeClient.from_kubeconfig(handle.kubeconfig, handle.context)
    except BaseException:
        if owned:
            provider.stop()
        raise
    return LiveCluster(handle, kube, run_id, provider, owned, start_seconds=time.monotonic() - start)
