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

import copy
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
    # Its values name an external MongoDB (mongo-0.mongo): the lane starts it outside the release, with the
    # user and replica set the URL names (live/external_mongodb.py); the stand-ins connect to it first.
    result = _install(kind_lane, "6.29.0", tmp_path, hub=False)
    log = "\n".join(result.log)
    try:
        assert not result.view.rollout_error, f"{result.view.rollout_error}\n{log}"
        assert "external MongoDB started outside the release (FerretDB): mongo-0.mongo:27017" in log, log
        assert result.verdict("live.connections") == Verdict.PASS, log
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


# The release the "done when" names: the public chart with its bundled MongoDB (bitnami subchart,
# run as FerretDB on kind) and its NATS subchart. The README-style values, with the MongoDB passwords given.
BUNDLED = {
    "microservices": {"enabled": True},
    "mongodb": {"auth": {"passwords": ["rc-pass"], "rootPassword": "root-pass"}},
    "host": "chat.example.com",
    "ingress": {"enabled": True, "ingressClassName": "nginx"},
}


def _install_values(lane: LiveLane, name: str, values: dict[str, object], tmp_path: Path) -> LiveCaseResult:
    import yaml

    chart_dir = UPSTREAM / "rocketchat-6.29.0"
    if not (chart_dir / "Chart.yaml").is_file():
        pytest.skip(f"public chart 6.29.0 not found at {chart_dir} (../shared/upstream-charts)")
    helm = resolve_helm(str(HELM))
    chart = load_chart(str(chart_dir), version=None, helm_path=helm.path, workdir=tmp_path)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return lane.install_scenario(name, chart, load_values(path), helm, restart=False, hub=False)


def test_public_6_29_0_with_its_bundled_mongodb_passes(kind_lane: LiveLane, tmp_path: Path) -> None:
    result = _install_values(kind_lane, "public-6.29.0-bundled", BUNDLED, tmp_path)
    log = "\n".join(_failures(result) + result.log)
    try:
        assert not result.view.rollout_error, f"{result.view.rollout_error}\n{log}"
        assert result.verdict("live.connections") == Verdict.PASS, log
        assert result.verdict(nats_bus.RULE_SERVICE_ANNOUNCED) == Verdict.PASS, log
        assert result.verdict(ddp.RULE_REACHES_DDP_STREAMER) == Verdict.PASS, log
    finally:
        kind_lane.release_case(result)


@pytest.mark.parametrize(
    ("case", "overlay", "backend", "evidence"),
    [
        (
            "mongodb-password",
            # the server's application user gets another password than MONGO_URL carries (the last of two
            # env entries with one name wins in Kubernetes)
            {"mongodb": {"extraEnvVars": [{"name": "MONGODB_EXTRA_PASSWORDS", "value": "not-rc-pass"}]}},
            "MongoDB",
            "Authentication failed",
        ),
        (
            "nats-credentials",
            # the NATS subchart demands a token TRANSPORTER does not carry
            {"nats": {"auth": {"enabled": True, "token": "bus-secret"}}},
            "NATS",
            "Authorization Violation",
        ),
    ],
)
def test_public_6_29_0_connection_refused_names_the_backend_and_workloads(
    kind_lane: LiveLane, tmp_path: Path, case: str, overlay: dict[str, object], backend: str, evidence: str
) -> None:
    from quickmeet_conformance.values import deep_merge

    result = _install_values(
        kind_lane, f"public-6.29.0-{case}", deep_merge(copy.deepcopy(BUNDLED), overlay), tmp_path
    )
    log = "\n".join(result.log)
    try:
        failed = [f for f in result.findings.get("live.connections", []) if f.failed]
        mine = [f.message for f in failed if f.message.startswith(f"{backend} refuses")]
        assert mine, f"live.connections did not name {backend}: {[f.message for f in failed]}\n{log}"
        message = mine[0]
        assert message.startswith(f"{backend} refuses") and evidence in message, message
        assert "-ddp-streamer" in message and "-presence" in message, message
        assert "rc-pass" not in message and "bus-secret" not in message
    finally:
        kind_lane.release_case(result)
