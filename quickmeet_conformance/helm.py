"""Find and check the helm binary: ``--helm PATH`` > ``HELM_BIN`` > ``helm`` on PATH > a checkout's
``.tools/bin/helm``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolError
from .resources import cache_root
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


HELM_BIN_ENV = "HELM_BIN"  # helm binaries, separated by ':' (os.pathsep), as --helm names them


def helm_from_env() -> tuple[str, ...]:
    """The helm binaries ``HELM_BIN`` names (none when unset)."""
    return tuple(p for p in os.environ.get(HELM_BIN_ENV, "").split(os.pathsep) if p)


def default_helm(checkout: Path | None) -> str | None:
    """The helm to use when none is named: ``helm`` on PATH, else the checkout's ``.tools/bin/helm``
    (what scripts/install.sh fetches); None when neither exists. The one place that decides PATH vs .tools."""
    if shutil.which("helm"):
        return "helm"
    tools_helm = checkout / ".tools" / "bin" / "helm" if checkout is not None else None
    return str(tools_helm) if tools_helm is not None and tools_helm.exists() else None


# how anyone gets helm: a wheel ships no install script, so name the system's own ways (helm.sh/docs/intro/install)
GET_HELM = (
    "install helm 3.12+ for your system (https://helm.sh/docs/intro/install/: e.g. 'brew install helm', "
    "'sudo snap install helm --classic', 'choco install kubernetes-helm', or a release binary from "
    "https://github.com/helm/helm/releases on PATH)"
)


def helm_specs(given: Sequence[str], checkout: Path | None) -> tuple[str, ...]:
    """``--helm`` as given, else ``HELM_BIN``, else :func:`default_helm`; a ToolError when there is none."""
    specs = tuple(given) or helm_from_env()
    if specs:
        return specs
    found = default_helm(checkout)
    if found is None:
        raise ToolError(
            "no helm on PATH",
            fix=f"{GET_HELM}, or pass --helm PATH / set HELM_BIN"
            + ("; in this checkout, scripts/install.sh --static fetches one" if checkout is not None else ""),
        )
    return (found,)


class HelmFailed(Exception):
    """helm exited non-zero (what pyhelm3's ``errors.Error`` carries, without importing pyhelm3 and pydantic:
    the static lane never needs them; the live lane's pyhelm3 commands translate it)."""

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        super().__init__(returncode, stdout, stderr)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


async def run_helm(executable: str, argv: list[str], input: bytes | None = None) -> bytes:
    """pyhelm3's ``Command.run`` through the one runner: helm's whole process group goes on a timeout or an
    interrupt (pyhelm3 terminates only the shell it starts, then waits for pipes that a hung child of helm
    keeps open). A failed helm raises :class:`HelmFailed`."""
    code, stdout, stderr = await run_async([executable, *argv], input)
    if code != 0:
        raise HelmFailed(code, stdout, stderr)
    return stdout


def _version_cache_file() -> Path:
    return cache_root() / "helm-versions.json"


def _binary_key(path: str) -> str | None:
    """Identity of a helm executable (path, inode, size, mtime) when it is a compiled binary: a wrapper script's
    answer may change without the script changing, so scripts are always asked."""
    try:
        real = os.path.realpath(path)
        with open(real, "rb") as handle:
            if handle.read(4) != b"\x7fELF":
                return None
        st = os.stat(real)
    except OSError:
        return None
    return f"{real}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _cached_versions() -> dict[str, str]:
    try:
        data = json.loads(_version_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember_version(key: str, version: str) -> None:
    """Best effort: a run without a writable cache asks helm every time."""
    target = _version_cache_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in _cached_versions().items() if not k.startswith(key.split(":", 1)[0] + ":")}
        data[key] = version
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass


def _acceptable(version: str) -> bool:
    try:
        return parse_version(version) >= MIN_HELM
    except ValueError:
        return False


def resolve_helm(spec: str, *, timeout_s: float = VERSION_TIMEOUT_S) -> HelmBinary:
    """Check that ``spec`` (a path or a name on PATH) is a helm >= 3.12 that answers in time.

    The version of a compiled helm binary is remembered (keyed by inode, size and mtime) in the user's cache:
    asking it costs a process start on every run, about as much as a render."""
    path = spec if os.sep in spec else shutil.which(spec)
    if not path or not os.path.exists(path):
        raise ToolError(
            "helm binary not found",
            where=spec,
            fix=f"{GET_HELM}, or pass --helm PATH / set HELM_BIN",
        )
    if not os.access(path, os.X_OK):
        raise ToolError("helm binary is not executable", where=path, fix="chmod +x it or pass another --helm")
    key = _binary_key(path)
    cached = _cached_versions().get(key) if key else None
    if cached is not None and _acceptable(cached):
        return HelmBinary(path=path, version=cached)
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
            f"'helm version' printed {text[:60]!r}, not a helm version",
            where=path,
            fix="is this really helm?",
        ) from None
    if version < MIN_HELM:
        want = ".".join(map(str, MIN_HELM))
        raise ToolError(f"helm {text} is too old (need >= {want})", where=path, fix="install helm 3.12+ or 4")
    if key:
        _remember_version(key, text)
    return HelmBinary(path=path, version=text)
