"""A live run leaves nothing behind: not when it is interrupted with SIGINT mid-install (no control-plane
process, helm or kubectl survives, the temp dirs are gone), and not under xdist on a shared cluster (every
namespace the workers created is deleted)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waits import eventually

from quickmeet_conformance.clusters.processes import processes_mentioning
from quickmeet_conformance.live.cluster import MANAGED_BY, RUN_LABEL
from quickmeet_conformance.live.scenario import LiveLane

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parents[2]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_mid_install_leaves_nothing(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "suites/live/test_topology.py",
            "--cluster",
            "kwok",
            "-k",
            "workloads",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TMPDIR": str(tmpdir), "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
        # a run started in the background (nohup, CI) inherits SIGINT ignored: restore it as a terminal has it
        preexec_fn=_default_sigint,
    )
    seen: list[str] = []
    try:
        assert runner.stdout is not None
        deadline = time.monotonic() + 120
        for line in runner.stdout:  # the runner's own timeouts bound this loop
            seen.append(line)
            if (
                "install: helm upgrade --install" in line
                and "] install:" in line
                and len([s for s in seen if "install: helm upgrade --install" in s]) >= 2
            ):
                break  # the second case's helm install has just started: interrupt it
            assert time.monotonic() < deadline, "no install started within 120s:\n" + "".join(seen[-30:])
        running = processes_mentioning(str(tmpdir))
        assert any("kube-apiserver" in cmd for _, cmd in running), f"no control plane seen mid-run: {running}"
        runner.send_signal(signal.SIGINT)
        try:
            rest, _ = runner.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            runner.send_signal(signal.SIGABRT)  # faulthandler: where it hangs
            rest, _ = runner.communicate(timeout=30)
            pytest.fail("pytest did not exit within 60s of SIGINT:\n" + "".join(seen[-20:]) + rest[-8000:])
        seen.append(rest)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=10)
    output = "".join(seen)
    assert runner.returncode == 2, (
        f"pytest should report the interruption (exit 2), got {runner.returncode}:\n{output[-3000:]}"
    )
    assert "KeyboardInterrupt" in output, output[-3000:]
    eventually(  # orphans are reaped asynchronously
        "the run's processes exit", lambda: not processes_mentioning(str(tmpdir)), timeout=10, interval=0.2
    )
    leaked = processes_mentioning(str(tmpdir))
    assert not leaked, f"processes survived the interrupt: {leaked}"
    left = sorted(p.name for p in tmpdir.iterdir() if p.name.startswith("qmc"))
    assert not left, f"temp dirs left behind after the interrupt: {left}"


def test_xdist_workers_share_an_existing_cluster_and_clean_up(live_lane: LiveLane, run_pytest) -> None:
    """-n 2 against the session's cluster as ``existing``: cases install in parallel in unique namespaces, and
    every namespace a worker created is gone when the run ends (the workers wait for the deletion)."""
    handle = live_lane.cluster.handle
    before = set(namespaces(live_lane))
    proc = run_pytest(
        [
            "suites/live/test_topology.py",
            "-n",
            "2",
            "--cluster",
            "existing",
            "--kubeconfig",
            str(handle.kubeconfig),
            "--kube-context",
            handle.context,
            "-k",
            "(seed-docs or monolith or per-service) and helm3",
            "-q",
        ],
        timeout=400,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    # 3 values files x 5 topology rules; the monolith has no WebSocket route to check (skipped with a reason)
    assert "14 passed, 1 skipped" in output, output[-3000:]
    leaked = sorted(set(namespaces(live_lane)) - before)
    assert not leaked, f"namespaces left behind by the xdist run: {leaked}"


def namespaces(lane: LiveLane) -> list[str]:
    """Namespaces created by any conformance run except this session's own."""
    listing = lane.kube.list_objects(
        "Namespace",
        label_selector=f"app.kubernetes.io/managed-by={MANAGED_BY},{RUN_LABEL}!={lane.cluster.run_id}",
    )
    return [ns["metadata"]["name"] for ns in listing]
