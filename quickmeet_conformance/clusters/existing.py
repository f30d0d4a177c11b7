"""A cluster the user already has: we only check that it answers, and never change or delete it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from quickmeet_conformance.clusters.base import ClusterHandle, ClusterProvider, find_kubectl
from quickmeet_conformance.errors import ToolError


class ExistingClusterProvider(ClusterProvider):
    """Attach to ``kubeconfig`` / ``context`` (the kubeconfig's current context when empty)."""

    def __init__(
        self,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str = "",
        *,
        timeout_s: float = 15.0,
        kubectl: str | os.PathLike[str] | None = None,
    ) -> None:
        default = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config"
        self.kubeconfig = Path(kubeconfig or default).expanduser()
        self.context = context
        self.timeout_s = timeout_s
        self._kubectl = kubectl
        self.name = context or "current-context"

    def _kubectl_json(self, *args: str) -> dict:
        argv = [str(find_kubectl(self._kubectl)), "--kubeconfig", str(self.kubeconfig)]
        if self.context:
            argv += ["--context", self.context]
        argv += [*args, f"--request-timeout={max(1, int(self.timeout_s))}s"]
        where = f"{self.kubeconfig}" + (f" context {self.context}" if self.context else "")
        try:
            result = subprocess.run(  # noqa: S603
                argv, capture_output=True, text=True, timeout=self.timeout_s + 5, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolError(f"cluster did not answer within {self.timeout_s:.0f}s", where=where) from exc
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or [f"kubectl exited {result.returncode}"]
            raise ToolError(f"cluster unreachable: {lines[-1]}", where=where)
        return json.loads(result.stdout)

    def start(self) -> ClusterHandle:
        if not self.kubeconfig.is_file():
            raise ToolError("kubeconfig not found", where=str(self.kubeconfig), fix="pass --kubeconfig or set KUBECONFIG")
        version = self._kubectl_json("version", "-o", "json").get("serverVersion", {})
        context = self.context
        if not context:
            result = subprocess.run(  # noqa: S603
                [str(find_kubectl(self._kubectl)), "--kubeconfig", str(self.kubeconfig), "config", "current-context"],
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
            context = result.stdout.strip()
        return ClusterHandle(
            name=self.name,
            kubeconfig=self.kubeconfig,
            context=context,
            kube_version=str(version.get("gitVersion", "unknown")),
            provider="existing",
        )

    def stop(self) -> None:
        """Nothing to do: this provider never created the cluster, so it never tears it down."""
