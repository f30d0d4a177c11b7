"""The control-plane binaries the kwok provider runs (``scripts/build-control-plane.sh`` builds them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from quickmeet_conformance.clusters.base import REPO_TOOLS_BIN
from quickmeet_conformance.errors import ToolError

BUILD_SCRIPT = "scripts/build-control-plane.sh"


@dataclass(frozen=True)
class ControlPlaneBinaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwok_stages: Path  # kwok's own default "fast" Stage objects, copied from its module by the build script

    @classmethod
    def locate(cls, binaries_dir: Path) -> ControlPlaneBinaries:
        """Find every binary in ``binaries_dir``; one ToolError naming all that are missing."""
        names = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]
        paths = {name: binaries_dir / name for name in names}
        missing = [name for name, path in paths.items() if not (path.is_file() and os.access(path, os.X_OK))]
        stages = binaries_dir / "kwok-stages.yaml"
        if not stages.is_file():
            missing.append("kwok-stages.yaml")
        if missing:
            raise ToolError(
                f"control-plane binaries missing in {binaries_dir}: {', '.join(missing)}",
                fix=f"run {BUILD_SCRIPT}",
            )
        return cls(
            etcd=paths["etcd"],
            kube_apiserver=paths["kube-apiserver"],
            kube_controller_manager=paths["kube-controller-manager"],
            kube_scheduler=paths["kube-scheduler"],
            kwok=paths["kwok"],
            kwok_stages=stages,
        )


def default_binaries_dir() -> Path:
    return Path(os.environ.get("QMC_CONTROLPLANE_BIN", REPO_TOOLS_BIN))
