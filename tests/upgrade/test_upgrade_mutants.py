"""The self-test of the upgrade lane: every upgrade rule has a mutant, every mutant is killed by its rule with a
message naming the resource, field path and values, and every good pair of the matrix passes every upgrade rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutants import (
    Mutant,
    MutantUnavailable,
    load_mutants,
    survival,
    upgrade_case_of,
)

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Severity, Verdict
from quickmeet_conformance.render import Renderer
from quickmeet_conformance.rules.engine import rules_for_lane
from quickmeet_conformance.upgrade import (
    SIDES,
    UpgradeCase,
    evaluate_upgrade,
    load_matrix,
    write_inline_values,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MUTANTS = load_mutants(FIXTURES / "mutants" / "upgrade")
PAIRS = load_matrix(FIXTURES / "upgrades")


def _mutant_case(mutant: Mutant, renderer: Renderer, workdir: Path) -> UpgradeCase:
    try:
        return upgrade_case_of(mutant, FIXTURES, workdir, renderer)
    except MutantUnavailable as exc:
        pytest.skip(str(exc))


def test_every_upgrade_rule_has_a_mutant():
    rules = {r.id for r in rules_for_lane("upgrade")}
    covered = {m.rule for m in MUTANTS}
    assert not rules - covered, (
        f"upgrade rules without a mutant in fixtures/mutants/upgrade: {sorted(rules - covered)}"
    )
    assert not covered - rules, f"mutants naming unknown rules: {sorted(covered - rules)}"


def test_matrix_covers_the_required_upgrade_paths():
    names = {p.name for p in PAIRS}
    required = {
        "monolith-to-microservices",
        "microservices-to-monolith",
        "scale-up",
        "scale-down",
        "streamhub-era-to-app-8",
        "chart-1.0.0-to-2.0.0",
    }
    assert required <= names, f"fixtures/upgrades lacks {sorted(required - names)}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_upgrade_mutant_is_killed(mutant, renderer, tmp_path):
    result = evaluate_upgrade(_mutant_case(mutant, renderer, tmp_path))
    assert result.input_error is None, result.input_error
    why = survival(mutant, result.findings[mutant.rule])
    assert not why, why
    failing = [f for f in result.findings[mutant.rule] if f.verdict == Verdict.FAIL]
    text = "\n".join(f.one_line() for f in failing)
    unplaced = [
        f for f in failing if not (f.resource and f.field_path) and not (f.location and f.location.key_path)
    ]
    assert not unplaced, (
        f"mutant {mutant.name}: findings name neither a resource field nor a values key:\n{text}"
    )


# the public chart's real upgrades carry true findings, explained in tests/upstream/test_upstream_upgrade.py
GOOD_PAIRS = [p for p in PAIRS if not p.name.startswith("public-")]
NOT_REQUESTED = {
    "upgrade.reuse-values",
    "upgrade.reuse-values-needed-keys",
}  # skips unless --reuse-values asks for the simulation


@pytest.mark.parametrize("pair", GOOD_PAIRS, ids=[p.name for p in GOOD_PAIRS])
def test_good_pair_passes_every_upgrade_rule(pair, renderer, tmp_path):
    pair = write_inline_values(pair, tmp_path)
    charts = {
        w: load_chart(pair.side(w).chart, version=None, helm_path=renderer.helm.path, workdir=tmp_path)
        for w in SIDES
    }
    result = evaluate_upgrade(UpgradeCase(pair, charts["from"], charts["to"], renderer))
    assert result.input_error is None, result.input_error
    assert result.plan is not None
    bad = [
        f"{rule_id}: {f.one_line()}"
        for rule_id, fs in result.findings.items()
        for f in fs
        if f.failed or (f.verdict == Verdict.SKIP and rule_id not in NOT_REQUESTED)
    ]
    assert not bad, f"good upgrade {pair.name} fails upgrade rules:\n" + "\n".join(bad)


def test_lookup_guarded_random_secret_is_a_warning(renderer, tmp_path):
    (mutant,) = [m for m in MUTANTS if m.name == "stable-secrets--lookup-guarded-random"]
    result = evaluate_upgrade(_mutant_case(mutant, renderer, tmp_path))
    failing = [f for f in result.findings[mutant.rule] if f.failed]
    assert failing and all(f.severity == Severity.WARNING for f in failing), [f.detail() for f in failing]


def test_plan_says_a_mode_change_comes_from_a_new_default(renderer, tmp_path):
    """The plan notes (terminal and JSON) name the default that changed, not only the rule's warning."""
    (mutant,) = [m for m in MUTANTS if m.name == "mode-changed-by-default--microservices-default"]
    result = evaluate_upgrade(_mutant_case(mutant, renderer, tmp_path))
    notes = "\n".join(result.plan.notes)
    assert (
        "converts the monolith" in notes
        and "only because the chart default microservices.enabled changed "
        "from false (rocketchat-2.0.0) to true (rocketchat-2.1.0)"
        in notes
    ), notes
