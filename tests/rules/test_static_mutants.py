"""The self-test of the static lane: every rule has a mutant, every mutant is killed by its rule with a
message naming the component and the resource, and the good reference chart passes every rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutants import MutantUnavailable, load_mutants, materialize, survival

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Severity, Verdict
from quickmeet_conformance.pipeline import Case, evaluate_case
from quickmeet_conformance.rules.engine import Options, rules_for_lane

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MUTANTS = load_mutants(FIXTURES / "mutants" / "static")
GOOD_VALUES = sorted((FIXTURES / "values").glob("*.yaml"))


def test_every_static_rule_has_a_mutant():
    rules = {r.id for r in rules_for_lane("static")}
    covered = {m.rule for m in MUTANTS if not m.equivalent}
    assert not rules - covered, (
        f"rules without a mutant in fixtures/mutants/static: {sorted(rules - covered)}"
    )
    assert not covered - rules, f"mutants naming unknown rules: {sorted(covered - rules)}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_killed(mutant, renderer, tmp_path):
    try:
        chart_dir, values_path = materialize(mutant, FIXTURES, tmp_path)
    except MutantUnavailable as exc:
        pytest.skip(str(exc))
    chart = load_chart(str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    release = mutant.extra.get("release", "rocketchat")  # a mutant may need another release name
    result = evaluate_case(
        Case(chart, str(values_path), renderer, release=release, options=Options(**mutant.options))
    )
    assert result.input_error is None, result.input_error
    why = survival(mutant, result.findings[mutant.rule])
    assert not why, why


@pytest.mark.parametrize("values", GOOD_VALUES, ids=[p.stem for p in GOOD_VALUES])
def test_reference_chart_passes_every_rule(values, renderer, tmp_path):
    chart = load_chart(
        str(FIXTURES / "charts" / "rocketchat"), version=None, helm_path=renderer.helm.path, workdir=tmp_path
    )
    result = evaluate_case(Case(chart, str(values), renderer))
    assert result.input_error is None, result.input_error
    bad = [
        f"{rule_id}: {f.one_line()}"
        for rule_id, findings in result.findings.items()
        for f in findings
        if f.verdict == Verdict.ERROR or (f.verdict == Verdict.FAIL and f.severity == Severity.ERROR)
    ]
    assert not bad, "the reference chart fails rules:\n" + "\n".join(bad)
