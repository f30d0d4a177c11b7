"""Owner files: which process created each kind cluster, so a later run deletes clusters whose owner died.

A run writes ``<OWNERS_DIR>/<cluster>.pid`` before it creates a cluster and removes it after deleting the
cluster; a run killed by SIGKILL leaves the file, and the next run finds its process gone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

OWNERS_DIR = Path(os.environ.get("QMC_KIND_OWNERS", "/tmp/qmc-kind-owners"))
CLUSTER_PREFIX = "qmc-"


def owner_file(name: str) -> Path:
    return OWNERS_DIR / f"{name}.pid"


def claim(name: str) -> None:
    """This process is about to create cluster ``name``."""
    OWNERS_DIR.mkdir(parents=True, exist_ok=True)
    owner_file(name).write_text(f"{os.getpid()}\n")


def release(name: str) -> None:
    owner_file(name).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(delete: Callable[[str], None]) -> list[str]:
    """``delete`` each qmc-* cluster whose creating process is gone (a run killed by SIGKILL)."""
    reaped: list[str] = []
    if not OWNERS_DIR.is_dir():
        return reaped
    for owner in OWNERS_DIR.glob(f"{CLUSTER_PREFIX}*.pid"):
        try:
            pid = int(owner.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        if pid and pid_alive(pid):
            continue
        name = owner.name[: -len(".pid")]
        delete(name)
        owner.unlink(missing_ok=True)
        reaped.append(name)
    return reaped
