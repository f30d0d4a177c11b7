"""helm against a cluster through pyhelm3: install/upgrade, and the read-only ``get``/``status`` calls.

pyhelm3's ``Command.run`` goes through a shell, has no timeout and leaves a hung helm running when it is
cancelled; :class:`BoundedHelm` runs helm directly in a process group of its own, bounded by
``asyncio.wait_for`` (a timeout or Ctrl-C kills the group), and records each argv so the audit can
prove it sent no write verb. ``disable_validation`` is never passed: pyhelm3 0.5.8 extends the argv
with the characters of ``--disable-openapi-validation`` instead of the flag.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyhelm3
import pyhelm3.errors

from ..errors import ToolError
from ..helm import HelmBinary, HelmFailed, run_helm

# helm subcommands that change the cluster (the audit mode must never send one)
HELM_WRITE_VERBS = frozenset({"install", "upgrade", "uninstall", "delete", "rollback", "test", "push"})
INSTALL_TIMEOUT_S = 180.0
READ_TIMEOUT_S = 60.0


class BoundedHelm(pyhelm3.Command):
    """pyhelm3's Command with a process-group run and an argv log."""

    def __init__(self, helm: HelmBinary, kubeconfig: Path, context: str = "") -> None:
        super().__init__(executable=helm.path, kubeconfig=kubeconfig, kubecontext=context or None)
        self.helm = helm
        self.calls: list[tuple[str, ...]] = []
        self._lock = threading.Lock()

    async def run(self, command: list[Any], input: bytes | None = None) -> bytes:
        argv = [str(part) for part in command]
        with self._lock:
            self.calls.append(tuple(argv))
        if self._kubeconfig:
            argv += ["--kubeconfig", str(self._kubeconfig)]
        if self._kubecontext:
            argv += ["--kube-context", self._kubecontext]
        try:
            return await run_helm(self._executable, argv, input)
        except HelmFailed as exc:  # pyhelm3's own methods expect its error type
            raise pyhelm3.errors.Error(exc.returncode, exc.stdout, exc.stderr) from None


@dataclass(frozen=True)
class HelmOutcome:
    ok: bool
    seconds: float
    error: str = ""  # helm's last error line (redact before showing)
    revision: int | None = None


def _bounded(coro: Any, timeout_s: float, what: str) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout_s)

    try:
        return asyncio.run(main())
    except asyncio.TimeoutError:
        raise ToolError(f"{what} took more than {timeout_s:g}s") from None


@dataclass
class ReleaseClient:
    """One release (name + namespace) on one cluster, through one helm binary."""

    helm: HelmBinary
    kubeconfig: Path
    context: str
    release: str
    namespace: str
    command: BoundedHelm = field(init=False)

    def __post_init__(self) -> None:
        self.command = BoundedHelm(self.helm, self.kubeconfig, self.context)

    def install_or_upgrade(
        self, chart: Path, values: dict[str, Any], *, timeout_s: float = INSTALL_TIMEOUT_S
    ) -> HelmOutcome:
        """``helm upgrade --install`` without ``--wait`` (the lane watches the rollout itself)."""
        start = time.monotonic()
        coro = self.command.install_or_upgrade(
            self.release,
            chart,
            values,
            namespace=self.namespace,
            create_namespace=False,
            timeout=f"{int(timeout_s)}s",
        )
        try:
            result = _bounded(coro, timeout_s + 15, f"helm upgrade --install {self.release}")
        except pyhelm3.errors.Error as exc:
            text = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc)
            return HelmOutcome(False, time.monotonic() - start, _helm_error(text))
        except ToolError as exc:
            return HelmOutcome(False, time.monotonic() - start, exc.line())
        revision = result.get("version") if isinstance(result, dict) else None
        return HelmOutcome(True, time.monotonic() - start, revision=revision)

    def _read(self, args: list[str], what: str) -> str:
        argv: list[Any] = [*args, self.release, "--namespace", self.namespace]
        try:
            out = _bounded(self.command.run(argv), READ_TIMEOUT_S, what)
        except pyhelm3.errors.Error as exc:
            raise ToolError(
                f"{what} failed: {_helm_error(exc.stderr.decode('utf-8', 'replace'))}",
                where=f"release {self.namespace}/{self.release}",
            ) from None
        return out.decode("utf-8", "replace")

    def manifest_text(self) -> str:
        """``helm get manifest``: the release's rendered objects, with their ``# Source:`` lines."""
        return self._read(["get", "manifest"], "helm get manifest")

    def user_values(self) -> dict[str, Any]:
        return json.loads(self._read(["get", "values", "--output", "json"], "helm get values") or "{}") or {}

    def status(self) -> dict[str, Any]:
        return json.loads(self._read(["status", "--output", "json"], "helm status") or "{}")


def _helm_error(text: str) -> str:
    """helm's error in one line: the last ``Error:`` line with the ``* detail`` lines that follow it."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    starts = [i for i, ln in enumerate(lines) if ln.lower().startswith("error")]
    if not starts:
        return (lines or ["helm failed without a message"])[-1][:600]
    first = starts[-1]
    details = [ln.lstrip("* ").strip() for ln in lines[first + 1 :] if ln.startswith("*")]
    return " ".join([lines[first]] + details)[:800]
