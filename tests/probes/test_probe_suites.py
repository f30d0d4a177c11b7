"""The thin suites in suites/probes, run as a user runs them (a pytest subprocess) against the real peers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import probe_peers as peers
import pytest
from probe_scenarios import PROBE_HEARTBEAT, Bus

pytestmark = pytest.mark.probes

SUITES = peers.REPO / "suites" / "probes"
EXPECT_ALL = "monolith=1,authorization=1,accounts=1,presence=1,ddp-streamer=1,stream-hub=1"


def run_suites(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QMC_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SUITES),
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *args,
        ],
        cwd=peers.REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | (env or {}),
    )


def summary(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]


@pytest.fixture(scope="module")
def ingress(log_dir: Path, ddp_upstreams) -> Iterator[dict[str, str]]:
    routed, routed_port = peers.start_nginx(
        log_dir, routes="ingress", ddp_streamer=ddp_upstreams.ddp_streamer, monolith=ddp_upstreams.monolith
    )
    misrouted, misrouted_port = peers.start_nginx(
        log_dir, routes="misrouted", ddp_streamer=ddp_upstreams.ddp_streamer, monolith=ddp_upstreams.monolith
    )
    try:
        yield {"routed": f"http://127.0.0.1:{routed_port}", "misrouted": f"http://127.0.0.1:{misrouted_port}"}
    finally:
        peers.stop_all([routed, misrouted])


def test_suites_skip_without_targets() -> None:
    result = run_suites()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 skipped" in summary(result), result.stdout
    assert (
        "no --nats-url given and no live cluster with running containers (KWOK runs no containers)"
        in result.stdout
    )
    assert "no --ingress-url given and no live cluster with running containers" in result.stdout


def test_suites_pass_on_healthy_release(healthy_bus: Bus, ingress: dict[str, str]) -> None:
    result = run_suites(
        "--nats-url",
        healthy_bus.url,
        "--bus-expect",
        EXPECT_ALL,
        "--bus-heartbeat-interval",
        str(PROBE_HEARTBEAT),
        "--ingress-url",
        ingress["routed"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result).startswith("11 passed, 1 skipped"), result.stdout
    assert "pod names unknown (--nats-url mode)" in result.stdout


def test_suites_fail_on_misrouted_ingress_via_env(ingress: dict[str, str]) -> None:
    """Kills ws.reaches-ddp-streamer through the suite, targets given as environment variables."""
    result = run_suites("-k", "websocket", env={"QMC_INGRESS_URL": ingress["misrouted"]})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 2 passed" in summary(result), result.stdout
    assert (
        "the monolith answered /websocket: the ingress routes /websocket to the monolith, not ddp-streamer"
        in result.stdout
    )
    assert "contract: CONTRACT.md > Wiring: Ingress" in result.stdout


def test_a_waiver_accepts_a_probe_finding_and_an_expired_one_fails(
    ingress: dict[str, str], tmp_path: Path
) -> None:
    """The pytest route's --waivers reach the probe lane: the misrouted ingress's ws.reaches-ddp-streamer
    finding is accepted (the run passes), and fails again with the waiver's reason once it expired."""
    target = ingress["misrouted"]
    routes = target.replace("http://", "ws://", 1) + "/*"  # the findings name the WebSocket URL of each route

    def waivers(expires: str) -> str:
        path = tmp_path / f"waivers-{expires}.yaml"
        path.write_text(
            f"- rule: ws.reaches-ddp-streamer\n  target: '{routes}'\n"
            f"  reason: the ingress moves to ddp-streamer next sprint (OPS-9)\n  expires: {expires}\n",
            encoding="utf-8",
        )
        return str(path)

    report = tmp_path / "report.json"
    accepted = run_suites(
        "-k",
        "websocket",
        "--ingress-url",
        target,
        "--waivers",
        waivers("2099-12-31"),
        "--conformance-report",
        str(report),
    )
    assert accepted.returncode == 0 and summary(accepted).startswith("3 passed"), (
        accepted.stdout + accepted.stderr
    )
    (judged,) = [
        r
        for t in json.loads(report.read_text())["probes"]
        for r in t["rules"]
        if r["id"] == "ws.reaches-ddp-streamer"
    ]
    assert judged["status"] == "accepted", judged
    assert {f["waiver"]["reason"] for f in judged["findings"]} == {
        "the ingress moves to ddp-streamer next sprint (OPS-9)"
    }
    expired = run_suites("-k", "websocket", "--ingress-url", target, "--waivers", waivers("2020-01-31"))
    assert expired.returncode == 1 and "1 failed" in summary(expired), expired.stdout
    assert "expired on 2020-01-31" in expired.stdout and "OPS-9" in expired.stdout, expired.stdout


def test_suites_fail_on_unreachable_nats() -> None:
    """Kills bus.reachable through the suite; every other bus rule fails as "not checked"."""
    url = f"nats://127.0.0.1:{peers.free_port()}"
    result = run_suites("--nats-url", url, "-k", "nats_bus")
    assert result.returncode == 1, result.stdout + result.stderr
    assert summary(result).startswith("9 failed"), result.stdout
    assert f"NATS at {url} is unreachable (ConnectionRefusedError" in result.stdout


def test_bad_bus_expect_is_a_usage_error(healthy_bus: Bus) -> None:
    result = run_suites("--nats-url", healthy_bus.url, "--bus-expect", "ddp-streamers=2", "-k", "node_count")
    assert result.returncode != 0 and "is not COMPONENT=COUNT" in result.stdout + result.stderr, (
        result.stdout + result.stderr
    )
