"""The self-test of the live lane: every live rule has a mutant, and each mutant, installed on the session's
cluster, is killed by its rule with a message naming the component and the resource. The upgrade lane's
immutable-field mutants check the other half of the agreement: predicted at render time AND rejected by the
API server (clean pairs, predicted clean and accepted, are suites/live/test_upgrade_paths.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mutants import (
    Mutant,
    load_mutant,
    load_mutants,
    materialize,
    side_of,
    survival,
    upgrade_case_of,
)

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.case import LiveCaseResult, Tamper
from quickmeet_conformance.live.evaluation import predicted_rejections
from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.render import Renderer
from quickmeet_conformance.rules.engine import rules_for_lane
from quickmeet_conformance.values import load_values

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
MUTANTS = load_mutants(FIXTURES / "mutants" / "live")
IMMUTABLE_MUTANTS = [
    m for m in load_mutants(FIXTURES / "mutants" / "upgrade") if m.rule == "upgrade.immutable-fields"
]
# Where the API server disagrees with the render-time prediction (none now: ClusterIP -> ExternalName was one,
# and the upgrade rule was corrected). strict: a fixed disagreement turns its xfail into a failure.
KNOWN_DISAGREEMENTS: dict[str, str] = {}
# the mutants run once, with helm 3 (QMC_MUTANT_HELM=helm4 for the other major); the suites cover both
HELM = REPO / ".tools" / "bin" / os.environ.get("QMC_MUTANT_HELM", "helm3")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(resolve_helm(str(HELM)))


def run_mutant(mutant: Mutant, lane: LiveLane, renderer: Renderer, workdir: Path) -> LiveCaseResult:
    if "upgrade_mutant" in mutant.extra:
        source = load_mutant(FIXTURES / "mutants" / "upgrade" / f"{mutant.extra['upgrade_mutant']}.yaml")
        return lane.upgrade_scenario(mutant.name, upgrade_case_of(source, FIXTURES, workdir, renderer))
    chart_dir, values_path = materialize(mutant, FIXTURES, workdir)
    chart = load_chart(str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=workdir)
    hub_chart = None
    if "to" in mutant.extra:
        hub_chart, _ = materialize(side_of(mutant, "to"), FIXTURES, workdir)
    tamper = tuple(
        Tamper(str(t["kind"]), str(t["name"]), dict(t["patch"])) for t in mutant.extra.get("tamper") or ()
    )
    return lane.install_scenario(
        mutant.name,
        chart,
        load_values(values_path),
        renderer.helm,
        restart=mutant.rule == "live.upgrade-no-restart",
        hub=mutant.rule == "live.streamhub-peak-one",
        hub_chart=hub_chart,
        tamper=tamper,
    )


def test_every_live_rule_has_a_mutant() -> None:
    """Every live rule has a mutant here, or in fixtures/mutants/kind when only running pods can show it (the
    WebSocket handover of an upgrade; tests/kind/test_kind_mutants.py kills those)."""
    rules = {r.id for r in rules_for_lane("live")}
    covered = {m.rule for m in MUTANTS}
    on_kind = {m.rule for m in load_mutants(FIXTURES / "mutants" / "kind")} & rules
    assert not rules - covered - on_kind, (
        f"live rules without a mutant in fixtures/mutants/live or kind: {sorted(rules - covered - on_kind)}"
    )
    assert not covered - rules, f"mutants naming unknown live rules: {sorted(covered - rules)}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_live_mutant_is_killed(
    mutant: Mutant, live_lane: LiveLane, renderer: Renderer, tmp_path: Path
) -> None:
    result = run_mutant(mutant, live_lane, renderer, tmp_path)
    try:
        why = survival(mutant, result.findings[mutant.rule])
        assert not why, f"{why}\n" + "\n".join(result.log)
    finally:
        live_lane.release_case(result)


@pytest.mark.parametrize(
    "mutant",
    [
        pytest.param(
            m,
            id=m.name,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DISAGREEMENTS[m.name])]
            if m.name in KNOWN_DISAGREEMENTS
            else [],
        )
        for m in IMMUTABLE_MUTANTS
    ],
)
def test_predicted_immutable_change_is_rejected_by_the_api_server(
    mutant: Mutant, live_lane: LiveLane, renderer: Renderer, tmp_path: Path
) -> None:
    """upgrade.immutable-fields fails at render time AND the API server rejects the real helm upgrade."""
    case = upgrade_case_of(mutant, FIXTURES, tmp_path, renderer)
    predicted = predicted_rejections(case)
    assert predicted, f"{mutant.name}: the render-time lane predicts no immutable-field change"
    result = live_lane.upgrade_scenario(mutant.name, case, prediction=predicted)
    try:
        outcome = result.view.upgrade
        assert outcome is not None, (
            f"{mutant.name}: the from-side did not install: {result.view.rollout_error}"
        )
        assert not outcome.accepted, (
            f"{mutant.name}: predicted rejected ({'; '.join(predicted)}) but the API "
            f"server accepted the upgrade\n" + "\n".join(result.log)
        )
    finally:
        live_lane.release_case(result)
