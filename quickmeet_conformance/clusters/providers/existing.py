"""A cluster the user already has: we only check that it answers, and never change or delete it."""

from __future__ import annotations

import os
from pathlib import Path

from quickmeet_conformance.clusters.base import ClusterHandle, ClusterProvider, ProviderSettings
from quickmeet_conformance.clusters.registry import register_provider
from quickmeet_conformance.errors import ToolError


@register_provider
class ExistingClusterProvider(ClusterProvider):
    """Attach to ``kubeconfig`` / ``context`` (the kubeconfig's current context when empty)."""

    provider = "existing"
    rank = 2
    owns_cluster = False  # the user's cluster: the run only creates (and deletes) its own namespaces

    def __init__(
        self,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str = "",
        *,
        timeout_s: float = 15.0,
    ) -> None:
        default = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config"
        self.kubeconfig = Path(kubeconfig or default).expanduser()
        self.context = context
        self.timeout_s = timeout_s
        self.name = context or "current-context"

    @classmethod
    def for_live_lane(cls, settings: ProviderSettings) -> ExistingClusterProvider:
        """The xdist workers share the user's cluster: each case's namespace is unique."""
        return cls(kubeconfig=settings.kubeconfig, context=settings.context)

    def _current_context(self) -> str:
        from kubernetes import config as k8s_config  # the client is imported when a cluster is used
        from kubernetes.config.config_exception import ConfigException

        try:
            _, active = k8s_config.list_kube_config_contexts(config_file=str(self.kubeconfig))
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise ToolError(f"cannot read the kubeconfig: {exc}", where=str(self.kubeconfig)) from None
        return str((active or {}).get("name", ""))

    def start(self) -> ClusterHandle:
        if not self.kubeconfig.is_file():
            raise ToolError(
                "kubeconfig not found", where=str(self.kubeconfig), fix="pass --kubeconfig or set KUBECONFIG"
            )
        context = self.context or self._current_context()
        where = f"{self.kubeconfig}" + (f" context {context}" if context else "")
        from quickmeet_conformance.clusters.kubeclient import KubeClient

        kube = KubeClient.from_kubeconfig(self.kubeconfig, context, timeout_s=self.timeout_s)
        try:
            version = kube.server_version()
        except ToolError as exc:
            raise ToolError(f"cluster unreachable: {exc.what}", where=where) from None
        finally:
            kube.close()
        return ClusterHandle(
            name=self.name,
            kubeconfig=self.kubeconfig,
            context=context,
            kube_version=version,
            provider="existing",
        )

    def stop(self) -> None:
        """Nothing to do: this provider never created the cluster, so it never tears it down."""
