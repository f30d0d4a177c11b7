"""Find and check the helm binary: ``--helm PATH`` > ``HELM_BIN`` > ``.tools/bin/helm`` > ``helm`` on PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyhelm3.errors

from .errors import ToolError
from .subprocesses import run, run_async

MIN_HELM = (3, 12, 0)
VERSION_TIMEOUT_S = 20


@dataclass(frozen=True)
class HelmBinary:
    path: str
    version: str  # e.g. "v3.17.3"

    @property
    def major(self) -> int:
        return parse_version(self.version)[0]

    @property
    def label(self) -> str:
        """Short name used in test ids and reports: ``helm3``, ``helm4``."""
        return f"helm{self.major}"


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise ValueError(text)
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def default_helm_candidates(repo_root: Path | None) -> list[str]:
    candidates = []
    if os.environ.get("HELM_BIN"):
        candidates.append(os.environ["HELM_BIN"])
    if repo_root is not None:
        candidates.append(str(repo_root / ".tools" / "bin" / "helm"))
    candidates.append("helm")
    return candidates


async def run_helm(executable: str, argv: list[str], input: bytes | None = None) -> bytes:
    """pyhelm3's ``Command.run`` through the one runner: helm's whole process group goes on a timeout or an
    interrupt (pyhelm3 terminates only the shell it starts, then waits for pipes that a hung child of helm
    keeps open). A failed helm raises ``pyhelm3.errors.Error`` as pyhelm3 does."""
    code, stdout, stderr = await run_async([executable, *argv], input)
    if code != 0:
        raise pyhelm3.errors.Error(code, stdout, stderr)
    return stdout


def resolve_helm(spec: str, *, timeout_s: float = VERSION_TIMEOUT_S) -> HelmBinary:
    """Check that ``spec`` (a path or a name on PATH) is a helm >= 3.12 that answers in time."""
    path = spec if os.sep in spec else shutil.which(spec)
    if not path or not os.path.exists(path):
        raise ToolError(
            "helm binary not found",
            where=spec,
            fix="run scripts/install.sh, or pass --helm PATH / set HELM_BIN",
        )
    if not os.access(path, os.X_OK):
        raise ToolError("helm binary is not executable", where=path, fix="chmod +x it or pass another --helm")
    try:
        proc = run([path, "version", "--template", "{{.Version}}"], timeout_s=timeout_s)
    except subprocess.TimeoutExpired:
        raise ToolError(
            f"'helm version' did not answer within {timeout_s:g}s", where=path, fix="is this binary hung?"
        ) from None
    text = proc.stdout.strip()
    try:
        version = parse_version(text)
    except ValueError:
        raise ToolError(
            f"'helm version' printed {text[:60]!r}, not a helm version", where=path, fix="is this really helm?"
        ) from None
    if version < MIN_HELM:
        want = ".".join(map(str, MIN_HELM))
        raise ToolError(f"helm {text} is too old (need >= {want})", where=path, fix="install helm 3.12+ or 4")
    return HelmBinary(path=path, version=text)


def first_available_helm(repo_root: Path | None) -> HelmBinary:
    errors = []
    for candidate in default_helm_candidates(repo_root):
        try:
            return resolve_helm(candidate)
        except ToolError as exc:
            errors.append(exc)
    raise errors[0] if os.environ.get("HELM_BIN") else ToolError(
        "no helm found (tried HELM_BIN, .tools/bin/helm and PATH)",
        fix="run scripts/install.sh, or pass --helm PATH",
    )
