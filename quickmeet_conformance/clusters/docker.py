"""The few docker calls the kind lane needs (clusters, images, networks), each bounded and each fault one line."""

from __future__ import annotations

import os
import shutil
import subprocess

from quickmeet_conformance import subprocesses
from quickmeet_conformance.errors import ToolError

DOCKER_FIX = "run scripts/setup-docker.sh (as root): it installs and starts dockerd"


def last_line(text: str, default: str) -> str:
    """The last non-empty line of a tool's output (where kind and docker put the reason), at most 300 chars."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else default)[:300]


class Docker:
    """The few docker calls the provider needs, each bounded."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("docker") or "docker"

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        if not (os.path.isfile(self.binary) or shutil.which(self.binary)):
            raise ToolError("docker not found", fix=DOCKER_FIX)
        try:
            return subprocesses.run([self.binary, *args], timeout_s=timeout)
        except subprocess.TimeoutExpired:
            raise ToolError(f"docker {args[0]} took more than {timeout:.0f}s", fix=DOCKER_FIX) from None

    def check_daemon(self) -> None:
        proc = self.run("info", "--format", "{{.ServerVersion}}", timeout=20)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise ToolError(
                f"dockerd is not running ({last_line(proc.stderr, 'docker info failed')})", fix=DOCKER_FIX
            )

    def has_image(self, ref: str) -> bool:
        return self.run("image", "inspect", "--format", "{{.Id}}", ref).returncode == 0

    def containers(self, cluster: str) -> list[str]:
        proc = self.run("ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={cluster}")
        return proc.stdout.split()

    def networks(self, name: str) -> list[str]:
        proc = self.run("network", "ls", "-q", "--filter", f"name=^{name}$")
        return proc.stdout.split()

    def remove_network(self, name: str) -> None:
        if self.networks(name):
            self.run("network", "rm", name)
