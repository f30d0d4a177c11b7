"""The public rocketchat chart as released (../shared/upstream-charts), installed on a real kind cluster with
the values written for it (fixtures/upstream/<version>/microservices.yaml): every image it references is
present under that exact reference, and the verdicts on real pods are the ones its static findings predict.

- 6.29.0 (app 8.0.1, no stream-hub): the release works on the wire. Its services join the NATS bus through
  the NATS subchart's Service, and /websocket and /sockjs through the ingress reach ddp-streamer.
- 6.27.1 (app 7.11.0): its stream-hub Deployment rolls out with maxSurge 1 on one replica, the defect
  streamhub.rollout-never-two reports at render time; on real pods two hubs run at once. Its pod templates
  do not carry the chart version, so the lane rolls them as ``kubectl rollout restart`` would.

Run with ``--cluster kind``; skipped elsewhere, and when the public charts are not beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.case import LiveCaseResult
from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.probes import ddp, nats_bus
from quickmeet_conformance.values import load_values

pytestmark = [pytest.mark.live, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = REPO.parent / "shared" / "upstream-charts"
HELM = REPO / ".tools" / "bin" / os.environ.get("QMC_MUTANT_HELM", "helm3")


def _install(lane: LiveLane, version: str, tmp_path: Path, *, hub: bool) -> LiveCaseResult:
    chart_dir = UPSTREAM / f"rocketchat-{version}"
    if not (chart_dir / "Chart.yaml").is_file():
        pytest.skip(f"public chart {version} not found at {chart_dir} (../shared/upstream-charts)")
    helm = resolve_helm(str(HELM))
    chart = load_chart(str(chart_dir), version=None, helm_path=helm.path, workdir=tmp_path)
    values = load_values(REPO / "fixtures" / "upstream" / version / "microservices.yaml")
    return lane.install_scenario(f"public-{version}", chart, values, helm, restart=False, hub=hub)


def _failures(result: LiveCaseResult) -> list[str]:
    return [f.one_line() for fs in result.findings.values() for f in fs if f.failed]


def test_public_6_29_0_release_works_on_the_wire(kind_lane: LiveLane, tmp_path: Path) -> None:
    result = _install(kind_lane, "6.29.0", tmp_path, hub=False)
    log = "\n".join(result.log)
    try:
        assert not result.view.rollout_error, f"{result.view.rollout_error}\n{log}"
        for rule in (
            nats_bus.RULE_SERVICE_ANNOUNCED,
            nats_bus.RULE_NODE_COUNT,
            ddp.RULE_WEBSOCKET_HANDSHAKE,
            ddp.RULE_SOCKJS_HANDSHAKE,
            ddp.RULE_REACHES_DDP_STREAMER,
        ):
            assert result.verdict(rule) == Verdict.PASS, f"{rule} on the public chart 6.29.0\n{log}"
        assert not _failures(result), "\n".join(_failures(result)) + f"\n{log}"
    finally:
        kind_lane.release_case(result)


def test_public_6_27_1_stream_hub_runs_twice_during_a_rollout(kind_lane: LiveLane, tmp_path: Path) -> None:
    result = _install(kind_lane, "6.27.1", tmp_path, hub=True)
    log = "\n".join(result.log)
    try:
        assert not result.view.rollout_error, f"{result.view.rollout_error}\n{log}"
        [finding] = [f for f in result.findings["live.streamhub-peak-one"] if f.failed] or [None]
        assert finding is not None, (
            "the public chart 6.27.1 rolls stream-hub out with maxSurge 1: two hubs should run at once\n"
            + log
        )
        assert "2 stream-hub pods existed at once" in finding.message, finding.detail()
        assert "Deployment/rocketchat-stream-hub" in finding.resource, finding.detail()
    finally:
        kind_lane.release_case(result)
