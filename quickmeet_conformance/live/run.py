"""The live lane's state for one pytest session: its configuration, its cluster and lane, the cases' results.

Plain data and cleanup; the pytest plugin (``plugin_live.py``) builds it from the options and keeps it in the
session's stash.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clusters.base import ProviderSettings
from .cluster import LiveCluster

if TYPE_CHECKING:  # the lane (the kubernetes client, pyhelm3) is imported when a live case runs
    from .case import LiveCaseResult
    from .scenario import LiveLane


@dataclass
class LiveConfig:
    provider: str
    kubeconfig: str | None
    context: str
    keep: bool
    cluster_name: str
    rollout_timeout_s: float
    audit_release: str | None  # set in audit mode
    audit_namespace: str
    worker: str
    run_id: str
    kind_images: str = "auto"

    @property
    def audit(self) -> bool:
        return self.audit_release is not None

    @property
    def settings(self) -> ProviderSettings:
        return ProviderSettings(
            worker=self.worker,
            kubeconfig=self.kubeconfig,
            context=self.context,
            keep=self.keep,
            cluster_name=self.cluster_name,
            kind_images=self.kind_images,
        )


@dataclass
class LiveRun:
    """The session's live state: the cluster, the lane, cached case results and their remaining tests."""

    config: LiveConfig
    cluster: LiveCluster | None = None
    lane: LiveLane | None = None
    workdir: Path | None = None
    results: dict[Any, LiveCaseResult] = field(default_factory=dict)
    errors: dict[Any, str] = field(default_factory=dict)
    remaining: dict[Any, int] = field(default_factory=dict)
    cluster_error: str = ""

    def stop(self) -> None:
        """Close everything this run opened: namespaces, the cluster, the temp dir (idempotent; also SIGTERM)."""
        if self.cluster is not None:
            try:
                self.cluster.cleanup(wait_s=0 if self.cluster.owned else 120)
            finally:
                self.cluster.stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


@dataclass(eq=False)
class TempDirGuard:
    """What a signal handler may safely do for a run: remove its temp dir (no subprocess, no lock)."""

    run: LiveRun

    def stop(self) -> None:
        if self.run.workdir is not None:
            shutil.rmtree(self.run.workdir, ignore_errors=True)
