"""The connections rules on all fifteen released charts, with both helm majors: each failing finding is a
pinned one (connections_pins.PINS, with the reason it is true), and each pin is still found; a connection
the lane cannot judge is a skip with its reason, never an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from connections_pins import connection_cases, pinned
from upstream_charts import require_upstream

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.pipeline import Case, evaluate_case
from quickmeet_conformance.rules.engine import rules_for_lane

CASES = connection_cases()
CONNECTION_RULES = [r for r in rules_for_lane("static") if r.id.startswith("connections.")]


@pytest.mark.parametrize(
    "version,values", CASES, ids=[f"{v}-{p.parent.parent.name}-{p.stem}" for v, p in CASES]
)
def test_connections_on_released_chart(version: str, values: Path, renderer, tmp_path):
    chart = load_chart(
        str(require_upstream(version)), version=None, helm_path=renderer.helm.path, workdir=tmp_path
    )
    result = evaluate_case(Case(chart, str(values), renderer), CONNECTION_RULES)
    assert result.input_error is None, result.input_error
    found: dict[tuple[str, str], list[str]] = {}
    for rule_id, findings in result.findings.items():
        assert all(f.verdict != Verdict.ERROR for f in findings), [f.one_line() for f in findings]
        for f in findings:
            if f.verdict == Verdict.FAIL:
                found.setdefault((rule_id, f.severity.value), []).append(f.one_line())
            if f.verdict == Verdict.SKIP:
                assert f.message.startswith(("not judged", "not evaluated")), f.message
    expected = pinned(version, values.stem)
    wrong = {k: v for k, v in found.items() if k not in expected or len(v) != expected[k].count}
    missing = {k: p.reason for k, p in expected.items() if k not in found}
    assert not wrong and not missing, (
        f"rocketchat-{version} with {values} ({renderer.helm.label}):\n"
        + "".join(f"  unpinned {rule} ({sev}): {lines}\n" for (rule, sev), lines in wrong.items())
        + "".join(f"  no longer found {rule} ({sev}): {why}\n" for (rule, sev), why in missing.items())
        + "(pin it in tests/upstream/connections_pins.py with the reason it is true, or fix the rule)"
    )
