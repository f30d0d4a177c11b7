"""Run the real pytest plugin in a subprocess, the way a user does, and keep what the user would see."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from quickmeet_conformance.subprocesses import run

REPO = Path(__file__).resolve().parents[2]
HELM3 = str(REPO / ".tools/bin/helm3")
HELM4 = str(REPO / ".tools/bin/helm4")
SUBPROCESS_TIMEOUT_S = 90


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def explain(self) -> str:
        return f"pytest {' '.join(self.args)} -> exit {self.returncode} in {self.seconds:.1f}s\n{self.output[-4000:]}"


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would steer the plugin (QMC_*, HELM_BIN, addopts).

    Third-party plugins are not auto-loaded (hypothesis' alone costs a second per run); the
    conformance plugin is loaded by name, exactly as its entry point would.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QMC_", "PYTEST_")) and k not in ("HELM_BIN", "HYPOTHESIS_PROFILE")
    }
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra)
    return env


def run_suite(*args: str, env: dict[str, str] | None = None, timeout_s: float = SUBPROCESS_TIMEOUT_S) -> Run:
    """``python -m pytest suites/static ARGS`` from the repository root (its conftest gives the defaults)."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "suites/static",
        "-p",
        "no:cacheprovider",
        "-p",
        "quickmeet_conformance.plugin",
        *args,
    ]
    start = time.monotonic()
    proc = run(cmd, cwd=REPO, timeout_s=timeout_s, grace_s=60, env=env or clean_env())
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
