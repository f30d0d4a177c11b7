"""The false claims of issue 22, each pinned on the released chart that showed it.

(a) A switch the chart in question never reads (nats.enabled before 6.26.0, microservices.streamHub.enabled
before 6.28.1) made components.present say a component "should not run"; the true finding is an ignored key.
(b) upgrade.stream-hub-handover said "two hubs during the upgrade" of a stream-hub the upgrade creates new.
(c) values.nats-replicas-ignored's fix named nats.cluster.replicas only; the subchart needs nats.cluster.enabled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from upstream_charts import REPO, require_upstream

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.pipeline import Case, evaluate_case
from quickmeet_conformance.rules import load_all
from quickmeet_conformance.rules.engine import RULES
from quickmeet_conformance.upgrade import SideSpec, UpgradeCase, UpgradePair, evaluate_upgrade

ERA5 = REPO / "fixtures" / "history" / "era-5" / "microservices.yaml"
ERA626 = REPO / "fixtures" / "history" / "era-6.26" / "microservices.yaml"


def _static(version: str, base: Path, overlay: dict, renderer, tmp_path: Path):
    chart = load_chart(
        str(require_upstream(version)), version=None, helm_path=renderer.helm.path, workdir=tmp_path
    )
    values = yaml.safe_load(base.read_text(encoding="utf-8"))
    for key, value in overlay.items():
        node = values
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    result = evaluate_case(Case(chart, str(path), renderer))
    assert result.input_error is None, result.input_error
    return result


def _failed(result, rule_id: str) -> list[str]:
    return [f.message for f in result.findings[rule_id] if f.failed]


@pytest.mark.parametrize(
    "version,base,keys",
    [
        ("6.24.0", ERA5, ("nats.enabled", "microservices.streamHub.enabled")),
        ("6.27.1", ERA626, ("microservices.streamHub.enabled",)),
    ],
)
def test_unread_switch_is_an_ignored_key_not_a_component_that_should_not_run(
    version, base, keys, renderer, tmp_path
):
    result = _static(version, base, {key: False for key in keys}, renderer, tmp_path)
    wrong = [m for m in _failed(result, "components.present") if "should not run" in m]
    assert not wrong, f"rocketchat-{version}: a key the chart never reads still promises a component: {wrong}"
    ignored = " ".join(_failed(result, "values.ignored-keys"))
    for key in keys:
        assert f"{key} is read by no template or dependency condition of this chart version" in ignored, (
            ignored
        )


def test_switch_the_chart_reads_is_judged(renderer, tmp_path):
    """6.29.0 reads microservices.streamHub.enabled (and nats.enabled): no ignored-key finding for them."""
    result = _static("6.29.0", ERA626, {"microservices.streamHub.enabled": False}, renderer, tmp_path)
    assert not _failed(result, "values.ignored-keys"), _failed(result, "values.ignored-keys")
    assert not _failed(result, "components.present"), _failed(result, "components.present")


def test_stream_hub_created_by_the_upgrade_runs_no_second_pod(renderer, tmp_path):
    """6.27.1 monolith -> microservices (external MongoDB, so helm upgrade renders): stream-hub is new, so no
    old hub overlaps the new one; the static lane still reports the strategy for the upgrades after it."""
    chart = load_chart(
        str(require_upstream("6.27.1")), version=None, helm_path=renderer.helm.path, workdir=tmp_path
    )
    old = str(REPO / "fixtures" / "upstream" / "6.27.1" / "monolith.yaml")
    new = str(REPO / "fixtures" / "upstream" / "6.27.1" / "microservices.yaml")
    pair = UpgradePair(
        "monolith-to-microservices",
        SideSpec("from", chart.spec, None, old, shown=old),
        SideSpec("to", chart.spec, None, new, shown=new),
    )
    result = evaluate_upgrade(UpgradeCase(pair, chart, chart, renderer))
    assert result.input_error is None, result.input_error
    handover = result.findings["upgrade.stream-hub-handover"]
    assert not [f.message for f in handover if f.failed], [f.message for f in handover]
    assert any(f.verdict == Verdict.PASS and "created by this upgrade" in f.message for f in handover), (
        handover
    )
    assert result.target is not None
    assert [f for f in result.target.findings["streamhub.rollout-never-two"] if f.failed], (
        "the strategy is still a defect for the next upgrade"
    )


def test_nats_scaling_fix_names_cluster_enabled(renderer, tmp_path):
    load_all()
    assert "nats.cluster.enabled" in RULES["values.nats-replicas-ignored"].fix
    result = _static("6.24.0", ERA5, {"microservices.nats.replicas": 3}, renderer, tmp_path)
    assert _failed(result, "values.nats-replicas-ignored"), "microservices.nats.replicas is not reported"
    clustered = _static("6.25.1", ERA5, {"nats.cluster.replicas": 3}, renderer, tmp_path)
    assert not _failed(clustered, "values.nats-replicas-ignored"), "6.25.1 clusters NATS by default"
