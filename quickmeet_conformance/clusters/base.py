"""What every cluster provider gives the suites: a handle to a reachable cluster, and a way to stop it."""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from quickmeet_conformance.errors import ToolError

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_TOOLS_BIN = REPO_ROOT / ".tools" / "bin"


@dataclass(frozen=True)
class ClusterHandle:
    """How to reach a running cluster: pass ``kubeconfig`` + ``context`` to kubectl/helm."""

    name: str
    kubeconfig: Path
    context: str
    kube_version: str  # the API server's gitVersion, e.g. "v1.37.2"
    provider: str  # "kwok", "existing", ...


class ClusterProvider(ABC):
    """Starts (or attaches to) a cluster and stops what it started; usable as a context manager."""

    name: str

    @abstractmethod
    def start(self) -> ClusterHandle:
        """Bring the cluster up (or check it is reachable) and return how to reach it."""

    @abstractmethod
    def stop(self) -> None:
        """Undo start(); idempotent; never destroys anything this provider did not create."""

    def __enter__(self) -> ClusterHandle:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def find_kubectl(explicit: str | os.PathLike[str] | None = None) -> Path:
    """kubectl from (in order) the argument, $QMC_KUBECTL, the repo's .tools/bin, PATH."""
    candidates = [
        explicit,
        os.environ.get("QMC_KUBECTL"),
        REPO_TOOLS_BIN / "kubectl",
        shutil.which("kubectl"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return Path(candidate)
    raise ToolError(
        "kubectl not found", fix="install it into .tools/bin or put it on PATH, or set QMC_KUBECTL"
    )
