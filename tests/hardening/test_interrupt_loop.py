"""Cleanup proven under interruption: a KWOK live run killed with SIGINT or SIGTERM at a random point, again
and again, leaves no process, temp dir, namespace or release behind (the cluster dies with the run, so a
leftover namespace or release would be a leftover process or data dir). Long: runs with --run-slow."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waits import eventually

from quickmeet_conformance.clusters.processes import processes_mentioning

REPO = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("QMC_INTERRUPT_RUNS", "20"))
SEED = int(os.environ.get("QMC_INTERRUPT_SEED", "20261127"))
CONTROL_PLANE = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "kwok",
    "helm",
    "kubectl",
)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _processes_under(marker: str) -> list[str]:
    return [f"{pid}: {cmdline[:160]}" for pid, cmdline in processes_mentioning(marker)]


def _wait_gone(marker: str, seconds: float) -> list[str]:
    eventually(
        "the run's processes exit", lambda: not _processes_under(marker), timeout=seconds, interval=0.2
    )
    return _processes_under(marker)


@pytest.mark.slow
@pytest.mark.live
def test_interrupted_kwok_runs_leave_nothing_behind(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    outcomes = []
    for run in range(RUNS):
        tmpdir = tmp_path / f"run{run:02d}"
        tmpdir.mkdir()
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        delay = rng.uniform(1.0, 20.0)  # anywhere from cluster start-up to mid-install (a run takes ~30 s)
        runner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "suites/live/test_topology.py",
                "--cluster",
                "kwok",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env={**os.environ, "TMPDIR": str(tmpdir), "PYTHONUNBUFFERED": "1"},
            # a run started in the background (nohup, CI) inherits SIGINT ignored: restore it as a terminal has it
            preexec_fn=_default_sigint,
        )
        time.sleep(delay)
        finished_first = runner.poll() is not None
        if not finished_first:
            runner.send_signal(sig)
        try:
            output, _ = runner.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            output, _ = runner.communicate(timeout=30)
            pytest.fail(
                f"run {run}: pytest did not exit within 90s of {sig.name} at {delay:.1f}s:\n{output[-3000:]}"
            )
        leaked = _wait_gone(str(tmpdir), 15)
        leftover_dirs = sorted(p.name for p in tmpdir.iterdir())
        outcomes.append((run, sig.name, round(delay, 1), runner.returncode, finished_first))
        assert not leaked, (
            f"run {run} ({sig.name} at {delay:.1f}s): processes survived: {leaked}\n{output[-2000:]}"
        )
        assert not any(n.startswith("qmc") for n in leftover_dirs), (
            f"run {run} ({sig.name} at {delay:.1f}s): temp dirs left: {leftover_dirs}\n{output[-2000:]}"
        )
        assert not finished_first, (
            f"run {run} finished before {sig.name} at {delay:.1f}s: make the run longer"
        )
        assert runner.returncode != 0, f"run {run}: an interrupted run must not pass:\n{output[-2000:]}"
    stray = [p for p in _processes_under(str(tmp_path)) if any(n in p for n in CONTROL_PLANE)]
    assert not stray, stray
    print(
        f"\ninterrupt loop: {len(outcomes)} runs (seed {SEED}): "
        + ", ".join(f"{sig}@{delay}s->rc{rc}" for _, sig, delay, rc, _ in outcomes)
    )
