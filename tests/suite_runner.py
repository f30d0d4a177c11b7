"""Run pytest and the real plugin in a subprocess, the way a user does, and keep what the user would see.

Imported by name (``from suite_runner import ...``) from any test directory: tests/conftest.py puts tests/
on sys.path."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from quickmeet_conformance.subprocesses import run

REPO = Path(__file__).resolve().parents[1]
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


# Every report a run can write, by name: its flag and the file name it gets (report_paths)
REPORT_FLAGS = {
    "junit": ("--junitxml", "junit.xml"),
    "json": ("--conformance-report", "report.json"),
    "sarif": ("--sarif", "out.sarif"),
    "html": ("--conformance-html", "report.html"),
    "markdown": ("--markdown", "report.md"),
}


def report_paths(folder: Path, *names: str) -> dict[str, Path]:
    """The reports ``names`` (default: all of REPORT_FLAGS) as files in ``folder``."""
    return {name: folder / REPORT_FLAGS[name][1] for name in (names or tuple(REPORT_FLAGS))}


def report_args(paths: dict[str, Path]) -> list[str]:
    """The command-line flags that write each report of ``paths`` (from :func:`report_paths`)."""
    return [arg for name, path in paths.items() for arg in (REPORT_FLAGS[name][0], str(path))]


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


def run_pytest(
    *args: str,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
    timeout_s: float = SUBPROCESS_TIMEOUT_S,
    plugin: bool = True,
) -> Run:
    """``python -m pytest -p no:cacheprovider ARGS`` in ``cwd``, as a user runs it: the one way the framework's
    tests start pytest in a subprocess. ``env`` defaults to :func:`clean_env` (no autoload), so ``plugin``
    loads the conformance plugin by name; pass ``plugin=False`` with an ``env`` that autoloads it (an
    installed package's entry point) or for a run without it."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    if plugin:
        cmd += ["-p", "quickmeet_conformance.plugin"]
    start = time.monotonic()
    proc = run(
        [*cmd, *args], cwd=cwd, timeout_s=timeout_s, grace_s=60, env=clean_env() if env is None else env
    )
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def run_suite(*args: str, env: dict[str, str] | None = None, timeout_s: float = SUBPROCESS_TIMEOUT_S) -> Run:
    """``python -m pytest suites/static ARGS`` from the repository root (its conftest gives the defaults)."""
    return run_pytest("suites/static", *args, env=env, timeout_s=timeout_s)
