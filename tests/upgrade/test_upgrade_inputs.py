"""Bad input to the upgrade lane is one line naming the side (from/to), the file and the cause, never a
traceback; a to-side the chart refuses is a finding, not a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.errors import UserError
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.upgrade import (
    SideSpec,
    UpgradeCase,
    UpgradePair,
    evaluate_upgrade,
    load_pair_file,
    pairs_from_options,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
CHART = FIXTURES / "charts" / "rocketchat"
PYTEST_TIMEOUT_S = 180


def _case(renderer, tmp_path, from_values: str, to_values: str) -> UpgradeCase:
    chart = load_chart(str(CHART), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    pair = UpgradePair(
        "p",
        SideSpec("from", str(CHART), values_path=from_values, shown=from_values),
        SideSpec("to", str(CHART), values_path=to_values, shown=to_values),
    )
    return UpgradeCase(pair, chart, chart, renderer)


def test_missing_to_values_names_the_side_and_file(renderer, tmp_path):
    result = evaluate_upgrade(
        _case(renderer, tmp_path, str(FIXTURES / "values/monolith.yaml"), "nope/missing.yaml")
    )
    assert result.input_error is not None
    assert "to side of upgrade p" in result.input_error
    assert "nope/missing.yaml: values file not found" in result.input_error
    assert "\n" not in result.input_error


def test_invalid_from_values_names_the_side_and_line(renderer, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("replicaCount: [1\n", encoding="utf-8")
    result = evaluate_upgrade(_case(renderer, tmp_path, str(bad), str(FIXTURES / "values/monolith.yaml")))
    assert result.input_error is not None and result.input_error.startswith("from side of upgrade p")
    assert "bad.yaml:" in result.input_error and "invalid YAML" in result.input_error


def test_from_side_the_chart_refuses_is_an_input_error(renderer, tmp_path):
    refused = tmp_path / "refused.yaml"
    refused.write_text("mongodb:\n  enabled: false\n", encoding="utf-8")
    result = evaluate_upgrade(_case(renderer, tmp_path, str(refused), str(FIXTURES / "values/monolith.yaml")))
    assert result.input_error is not None and result.input_error.startswith("from side of upgrade p")
    assert (
        "helm template failed" in result.input_error
        and "the installed side must render" in result.input_error
    )


def test_to_side_the_chart_refuses_fails_the_static_target_and_skips_the_rest(renderer, tmp_path):
    refused = tmp_path / "hub-on-8.yaml"
    refused.write_text(
        "image: {tag: '8.1.0'}\nmicroservices: {enabled: true, streamHub: {enabled: true}}\n",
        encoding="utf-8",
    )
    result = evaluate_upgrade(_case(renderer, tmp_path, str(FIXTURES / "values/app-8.yaml"), str(refused)))
    assert result.input_error is None
    assert result.plan is None
    target = result.findings["upgrade.target-passes-static"]
    assert any(f.verdict == Verdict.FAIL and "render.succeeds" in f.message for f in target), target
    assert result.verdict("upgrade.immutable-fields") == Verdict.SKIP
    assert result.verdict("upgrade.renamed-values-keys") == Verdict.PASS  # needs no render


def test_matrix_file_errors_name_file_and_side(tmp_path):
    charts, values = FIXTURES / "charts", FIXTURES / "values"
    no_from = tmp_path / "no-from.yaml"
    no_from.write_text("to: {chart: rocketchat, values: monolith.yaml}\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"no-from\.yaml: 'from' must be a map"):
        load_pair_file(no_from, charts, values)
    bad_chart = tmp_path / "bad-chart.yaml"
    bad_chart.write_text(
        "from: {chart: nope, values: monolith.yaml}\nto: {chart: rocketchat, values: monolith.yaml}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=r"bad-chart\.yaml: from\.chart 'nope' not found"):
        load_pair_file(bad_chart, charts, values)
    bad_values = tmp_path / "bad-values.yaml"
    bad_values.write_text(
        "from: {chart: rocketchat, values: monolith.yaml}\nto: {chart: rocketchat, values: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=r"bad-values\.yaml: to\.values must be a file"):
        load_pair_file(bad_values, charts, values)


def test_unpaired_flags_are_one_line():
    with pytest.raises(UserError, match=r"2 --upgrade-from but 1 --upgrade-to"):
        pairs_from_options(
            ["a.yaml", "b.yaml"],
            ["c.yaml"],
            from_chart="x",
            from_chart_version=None,
            to_chart="x",
            to_chart_version=None,
        )


def _run_pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=PYTEST_TIMEOUT_S,
        env={**os.environ, **(env or {})},
    )


def test_cli_missing_from_values_is_a_usage_error_naming_side_and_file():
    proc = _run_pytest(
        "suites/upgrade", "-q", "--upgrade-from", "nope.yaml", "--upgrade-to", "fixtures/values/monolith.yaml"
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 4, output
    assert (
        "from side of upgrade nope-to-monolith (--upgrade-from #1): nope.yaml: values file not found"
        in output
    )
    assert "Traceback" not in output


def test_env_pairs_with_an_unpaired_to_is_a_usage_error():
    proc = _run_pytest("suites/upgrade", "-q", env={"QMC_UPGRADE_TO": "fixtures/values/monolith.yaml"})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 4, output
    assert "0 --upgrade-from but 1 --upgrade-to" in output and "Traceback" not in output


def test_cli_pair_prints_the_plan_and_reports_it(tmp_path):
    report = tmp_path / "report.json"
    proc = _run_pytest(
        "suites/upgrade",
        "-q",
        "--helm",
        ".tools/bin/helm3",
        "--chart",
        "fixtures/charts/rocketchat",
        "--from-chart",
        "fixtures/charts/rocketchat-1.0.0",
        "--upgrade-from",
        "fixtures/values/seed-docs.yaml",
        "--upgrade-to",
        "fixtures/values/seed-docs.yaml",
        "--conformance-report",
        str(report),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "upgrade plans" in output
    assert "upgrade seed-docs-to-seed-docs: fixtures/values/seed-docs.yaml (rocketchat-1.0.0) -> " in output
    assert "stream-hub removed: Deployment/rocketchat-stream-hub is deleted" in output
    data = json.loads(report.read_text(encoding="utf-8"))
    (upgrade,) = data["upgrades"]
    assert upgrade["from"]["chart"]["version"] == "1.0.0" and upgrade["to"]["chart"]["version"] == "2.0.0"
    assert {
        "group": "apps",
        "kind": "Deployment",
        "namespace": "default",
        "name": "rocketchat-stream-hub",
    } in upgrade["plan"]["deleted"]
    assert {r["id"]: r["verdict"] for r in upgrade["rules"]}["upgrade.stream-hub-handover"] == "pass"
    assert "rocketchatroot" not in report.read_text(encoding="utf-8")
