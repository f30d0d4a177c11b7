"""The rules on helm's own semantics and release-wide settings over the fifteen released charts (static lane, with
README-style values per version) and over each consecutive pair (upgrade lane): every failing finding of those
rules is one helm_semantics_pins.py explains, and every pin is still found."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helm_semantics_pins import (
    ALL_VERSIONS,
    PAIRS,
    RULES,
    UPGRADE_RULES,
    expected,
    expected_upgrade,
    readme_values,
)
from upstream_charts import require_upstream

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.pipeline import Case, evaluate_case
from quickmeet_conformance.rules.engine import RULES as REGISTRY
from quickmeet_conformance.rules.engine import rules_for_lane
from quickmeet_conformance.upgrade import SideSpec, UpgradeCase, UpgradePair, evaluate_upgrade

CASES = [(v, stem) for v in ALL_VERSIONS for stem in readme_values(v)]
PAIR_CASES = [
    (pair, stem) for pair in PAIRS for stem in readme_values(pair[0]) if stem in readme_values(pair[1])
]


def _write(tmp_path: Path, version: str, stem: str) -> Path:
    path = tmp_path / f"{stem}-{version}.yaml"
    path.write_text(yaml.safe_dump(readme_values(version)[stem]), encoding="utf-8")
    return path


def _failed(findings: dict, rules: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for rule_id in rules:
        for f in findings.get(rule_id, []):
            if f.failed or f.verdict.value == "error":
                found.setdefault((rule_id, f.severity.value), []).append(f.message)
    return found


def _compare(found: dict, pins: dict, label: str) -> None:
    unexplained = {k: v for k, v in found.items() if k not in pins}
    missing = {k: p for k, p in pins.items() if k not in found}
    wrong = {
        k: p for k, ps in pins.items() if k in found for p in ps if not any(p.says in m for m in found[k])
    }
    assert not unexplained and not missing and not wrong, (
        f"{label}:\n"
        + "".join(f"  unexplained {r} ({s}): {lines[0]}\n" for (r, s), lines in unexplained.items())
        + "".join(f"  no longer found {r} ({s}): {ps[0].reason}\n" for (r, s), ps in missing.items())
        + "".join(
            f"  {r} ({s}) no longer says {p.says!r}: {found[(r, s)][0]}\n" for (r, s), p in wrong.items()
        )
        + "(update tests/upstream/helm_semantics_pins.py with the reason, or fix the rule)"
    )


@pytest.mark.parametrize("version,stem", CASES, ids=[f"{v}-{s}" for v, s in CASES])
def test_released_chart_findings_are_the_pinned_ones(version, stem, renderer, tmp_path):
    chart_dir = require_upstream(version)
    chart = load_chart(str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    rules = [REGISTRY[r] for r in RULES if r in {x.id for x in rules_for_lane("static")}]
    result = evaluate_case(Case(chart, str(_write(tmp_path, version, stem)), renderer), rules)
    assert result.input_error is None, result.input_error
    assert result.rendered is not None, f"rocketchat-{version} {stem} does not render"
    _compare(_failed(result.findings, RULES), expected(version, stem), f"rocketchat-{version} {stem}")


@pytest.mark.parametrize("pair,stem", PAIR_CASES, ids=[f"{a}-to-{b}-{s}" for (a, b), s in PAIR_CASES])
def test_consecutive_upgrades_findings_are_the_pinned_ones(pair, stem, renderer, tmp_path):
    old, new = pair
    sides = {}
    charts = {}
    for which, version in (("from", old), ("to", new)):
        chart_dir = require_upstream(version)
        charts[which] = load_chart(
            str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=tmp_path
        )
        values = _write(tmp_path, version, stem)
        sides[which] = SideSpec(which, str(chart_dir), values_path=str(values), shown=values.name)
    upgrade_pair = UpgradePair(f"{old}-to-{new}-{stem}", sides["from"], sides["to"])
    case = UpgradeCase(upgrade_pair, charts["from"], charts["to"], renderer)
    rules = [r for r in rules_for_lane("upgrade") if r.id in UPGRADE_RULES]
    result = evaluate_upgrade(case, rules)
    assert result.input_error is None, result.input_error
    _compare(_failed(result.findings, UPGRADE_RULES), expected_upgrade(pair, stem), f"{old} -> {new} {stem}")
