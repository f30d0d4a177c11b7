"""The static lane on the public chart as released: a correct release gives no error-severity finding,
except the chart's own defects (upstream_charts.DEFECTS), each shown with its reason and contract line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from upstream_charts import VERSIONS, expected_defects, expected_findings, require_upstream, values_files

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Severity, Verdict, blocking
from quickmeet_conformance.pipeline import Case, evaluate_case

CASES = [(version, path) for version in VERSIONS for path in values_files(version)]


def _errors(result) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for rule_id, findings in result.findings.items():
        for f in blocking(findings, strict=False):
            errors.setdefault(rule_id, []).append(f.one_line())
    return errors


def test_values_files_exist_for_both_charts():
    for version in VERSIONS:
        stems = {p.stem for p in values_files(version)}
        assert {"monolith", "microservices", "microservices-scaled"} <= stems, (
            f"fixtures/upstream/{version}: expected monolith, microservices and microservices-scaled values, "
            f"found {sorted(stems)}"
        )


def _evaluate(version: str, values: Path, renderer, tmp_path: Path):
    """The static case of ``values`` on the public chart ``version``, which must render."""
    chart = load_chart(
        str(require_upstream(version)), version=None, helm_path=renderer.helm.path, workdir=tmp_path
    )
    result = evaluate_case(Case(chart, str(values), renderer))
    assert result.input_error is None, result.input_error
    return result


@pytest.mark.parametrize("version,values", CASES, ids=[f"{v}-{p.stem}" for v, p in CASES])
def test_public_chart_gives_no_false_error(version, values, renderer, tmp_path):
    result = _evaluate(version, values, renderer, tmp_path)
    errors = _errors(result)
    defects = expected_defects(version, values.stem)
    unexplained = {rule: lines for rule, lines in errors.items() if rule not in defects}
    assert not unexplained, (
        f"rocketchat-{version} with fixtures/upstream/{version}/{values.name}: error findings on a correct "
        "release (a false failure, or a chart defect not listed in tests/upstream/upstream_charts.py):\n"
        + "\n".join(f"  {rule}: {line}" for rule, lines in unexplained.items() for line in lines)
    )
    missed = {rule: d for rule, d in defects.items() if rule not in errors}
    assert not missed, (
        f"rocketchat-{version} {values.name}: the tool no longer finds the chart's known defects: "
        + "; ".join(f"{rule} ({d.reason}; {d.contract})" for rule, d in missed.items())
    )


@pytest.mark.parametrize("version,values", CASES, ids=[f"{v}-{p.stem}" for v, p in CASES])
def test_public_chart_findings_are_exactly_the_known_ones(version, values, renderer, tmp_path):
    """Warnings too, not only errors: each (rule, severity) that fails is one upstream_charts explains."""
    result = _evaluate(version, values, renderer, tmp_path)
    found: dict[tuple[str, str], list[str]] = {}
    for rule_id, findings in result.findings.items():
        for f in findings:
            if f.failed:
                found.setdefault((rule_id, f.severity.value), []).append(f.one_line())
    expected = expected_findings(version, values.stem)
    unexplained = {key: lines for key, lines in found.items() if key not in expected}
    missing = {key: reason for key, reason in expected.items() if key not in found}
    assert not unexplained and not missing, (
        f"rocketchat-{version} with fixtures/upstream/{version}/{values.name} ({renderer.helm.label}):\n"
        + "".join(f"  unexplained {rule} ({sev}): {lines[0]}\n" for (rule, sev), lines in unexplained.items())
        + "".join(f"  no longer found {rule} ({sev}): {reason}\n" for (rule, sev), reason in missing.items())
        + "(update WARNINGS / DEFECTS in tests/upstream/upstream_charts.py with the reason, or fix the rule)"
    )


PLANTED = ("lic-QMC-planted-4f9d2c7e", "Planted-Oplog-9x7")


@pytest.mark.parametrize("version", VERSIONS)
def test_plain_env_credentials_are_redacted_everywhere(version, renderer, tmp_path):
    """hygiene.plain-env-credentials warns, and the planted licence and URI password appear in no finding,
    terminal line, JSON report or SARIF log of the case (redact.py learns literal credential env values)."""
    import json

    from quickmeet_conformance.reports.model import report_dict
    from quickmeet_conformance.reports.sarif import sarif_log
    from quickmeet_conformance.reports.terminal import write_summary

    chart = load_chart(
        str(require_upstream(version)), version=None, helm_path=renderer.helm.path, workdir=tmp_path
    )
    values = tmp_path / "planted.yaml"
    values.write_text(
        (values_files(version)[0]).read_text(encoding="utf-8")
        + "extraEnv:\n  - name: ROCKETCHAT_LICENSE\n    value: lic-QMC-planted-4f9d2c7e\n"
        + "  - name: MONGO_OPLOG_URL\n    value: mongodb://oploguser:Planted-Oplog-9x7@rocket-1:27017/local\n",
        encoding="utf-8",
    )
    result = evaluate_case(Case(chart, str(values), renderer))
    warned = [f for f in result.findings["hygiene.plain-env-credentials"] if f.verdict == Verdict.FAIL]
    assert {f.severity for f in warned} == {Severity.WARNING} and len(warned) >= 2, warned
    lines: list[str] = []
    write_summary(lambda text="", **_: lines.append(text), [result], strict=True, failures_only=False)
    outputs = "\n".join(lines) + json.dumps(report_dict([result])) + json.dumps(sarif_log([result]))
    assert "hygiene.plain-env-credentials" in outputs and "ROCKETCHAT_LICENSE" in outputs, (
        "the warning is not shown"
    )
    leaked = [p for p in PLANTED if p in outputs]
    assert not leaked, f"planted credentials {leaked} reached the terminal summary, the JSON report or SARIF"


def test_readme_table_lists_every_known_finding():
    """README's "Defects the tool finds in the public chart" names each pinned defect and warning, so a user
    who sees one on the public chart learns why (e.g. hygiene.resources: a values choice, not a chart defect)."""
    from upstream_charts import DEFECTS, REPO, WARNINGS

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("Defects the tool finds in the public chart", 1)[1].split("\n\n", 2)[1]
    missing = sorted(
        {k.rule for k in (*DEFECTS, *WARNINGS)} - set(re.findall(r"^\| [^|]+ \| `([^`]+)`", table, re.M))
    )
    assert not missing, f"README.md's table of the public chart's findings lacks {missing}"
