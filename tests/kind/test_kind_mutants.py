"""The probes' self-test on a real kind cluster: each mutant of the reference chart in fixtures/mutants/kind,
installed with helm on a cluster whose pods really run (an upgrade mutant: its from-side installed, then a
real ``helm upgrade`` to its to-side), is killed by its rule (the NATS bus probe through the release's NATS
Service, the DDP probe through the ingress controller, before and after an upgrade) with a message naming
the component and the resource. Run with ``--cluster kind`` (skipped on other clusters: no pod runs on
KWOK)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mutants import Mutant, load_mutants, materialize, survival, upgrade_case_of

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.probes import ddp, nats_bus
from quickmeet_conformance.render import Renderer
from quickmeet_conformance.values import load_values

pytestmark = [pytest.mark.live, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
MUTANTS = load_mutants(FIXTURES / "mutants" / "kind")
HELM = REPO / ".tools" / "bin" / os.environ.get("QMC_MUTANT_HELM", "helm3")
# the rules only a cluster whose pods run can judge: the probes, and the WebSocket handover of an upgrade
KIND_RULES = {
    nats_bus.RULE_SERVICE_ANNOUNCED,
    nats_bus.RULE_NODE_COUNT,
    nats_bus.RULE_HUB_SINGLE,
    ddp.RULE_WEBSOCKET_HANDSHAKE,
    ddp.RULE_REACHES_DDP_STREAMER,
    "live.upgrade-websocket-handover",
    "live.connections",  # stopped on MongoDB or NATS: only pods that really connect show it
    "live.workloads-available",  # an image outside the air-gap registry, a pod no node takes
}


def test_every_mutant_names_a_probe_rule() -> None:
    assert MUTANTS, "fixtures/mutants/kind is empty"
    unknown = sorted({m.rule for m in MUTANTS} - KIND_RULES)
    assert not unknown, f"kind mutants naming rules only a kind cluster does not judge: {unknown}"
    assert not KIND_RULES - {m.rule for m in MUTANTS}, (
        f"kind rules without a mutant in fixtures/mutants/kind: {sorted(KIND_RULES - {m.rule for m in MUTANTS})}"
    )


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_kind_mutant_is_killed_by_its_probe(mutant: Mutant, kind_lane: LiveLane, tmp_path: Path) -> None:
    helm = resolve_helm(str(HELM))
    if "to" in mutant.extra:
        case = upgrade_case_of(mutant, FIXTURES, tmp_path, Renderer(helm))
        result = kind_lane.upgrade_scenario(mutant.name, case)
    else:
        chart_dir, values_path = materialize(mutant, FIXTURES, tmp_path)
        chart = load_chart(str(chart_dir), version=None, helm_path=helm.path, workdir=tmp_path)
        airgap = bool(mutant.extra.get("airgap")) or None  # the case as on an air-gapped cluster
        result = kind_lane.install_scenario(
            mutant.name, chart, load_values(values_path), helm, restart=False, hub=False, airgap=airgap
        )
    try:
        assert mutant.rule in result.findings, f"{mutant.name}: the probes did not run\n" + "\n".join(
            result.log
        )
        why = survival(mutant, result.findings[mutant.rule])
        assert not why, f"{why}\n" + "\n".join(result.log)
    finally:
        kind_lane.release_case(result)
