"""Issue 22's first "done when" on all fifteen released charts: the values each README documents (fixtures/history,
by era) pass or fail only on chart defects, each labelled as such with its template line (readme_pins.DEFECTS);
a waiver file for those turns ``conformance check`` green, the same file expired turns it red with its reason.

Both helm majors (the ``renderer`` fixture). Everything runs in-process on one render per case (the renderer's
cache): the labels per case, the waiver runs per version (the engine attaches the waivers; ``ReportRun`` gives
the command's exit code); the ``conformance check`` command itself runs as a subprocess for three versions, one
per era, and shows the expired waivers' reasons.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from readme_pins import VERSIONS, expected, readme_values, waiver_text
from suite_runner import clean_env
from upstream_charts import REPO, require_upstream

from quickmeet_conformance.charts import Chart, load_chart
from quickmeet_conformance.findings import FixKind, Severity, Verdict, blocking
from quickmeet_conformance.pipeline import Case, evaluate_case
from quickmeet_conformance.reports.reporter import ReportRun
from quickmeet_conformance.rules.engine import Options
from quickmeet_conformance.waivers import counts, load_waivers, unmatched

CASES = [(version, path) for version in VERSIONS for path in readme_values(version)]
FUTURE, PAST = "2099-12-31", "2020-01-31"
CHARTS: dict[
    tuple[str, str], Chart
] = {}  # (version, helm) -> the loaded chart, for every case of the version


def test_the_fifteen_versions_are_here() -> None:
    assert len(VERSIONS) == 15 and len(CASES) == 45, (VERSIONS, len(CASES))


def _chart(version: str, helm_path: str, tmp_path: Path) -> Chart:
    key = (version, helm_path)
    if key not in CHARTS:
        CHARTS[key] = load_chart(
            str(require_upstream(version)), version=None, helm_path=helm_path, workdir=tmp_path
        )
    return CHARTS[key]


@pytest.mark.parametrize("version,values", CASES, ids=[f"{v}-{p.stem}" for v, p in CASES])
def test_readme_values_fail_only_on_labelled_chart_defects(
    version: str, values: Path, renderer, tmp_path
) -> None:
    result = evaluate_case(Case(_chart(version, renderer.helm.path, tmp_path), str(values), renderer))
    assert result.input_error is None, result.input_error
    errors = [
        f
        for found in result.findings.values()
        for f in found
        if f.verdict == Verdict.ERROR or (f.failed and f.severity == Severity.ERROR)
    ]
    where = f"rocketchat-{version} with {values.relative_to(REPO)} ({renderer.helm.label})"
    values_defects = [f.detail() for f in errors if f.fixed_by.kind != FixKind.CHART]
    assert not values_defects, (
        f"{where}: a values defect on README values: either a false claim of the rule (fix it) or the README leads "
        "to a broken release (pin it in readme_pins.py quoting the README):\n" + "\n".join(values_defects)
    )
    for f in errors:
        remedy = f.fixed_by
        assert remedy.hard_coded and re.fullmatch(r"[\w./-]+:\d+", remedy.template), f.detail()
        assert remedy.line().startswith(f"chart: {remedy.template} hard-codes this"), remedy.line()
    found = {f.rule_id: f.fixed_by.template for f in errors}
    pinned = {rule: d.template for rule, d in expected(version, values.stem).items()}
    assert found == pinned, (
        f"{where}: failed findings {found}, pinned {pinned} (tests/upstream/readme_pins.py: add the new chart "
        "defect with its reason, or drop the pin of one the chart or the rule no longer has)"
    )


def _argv(version: str, helm: str, waivers: Path) -> list[str]:
    files = [str(p) for p in readme_values(version)]
    return [
        "check",
        *files,
        "--chart",
        str(require_upstream(version)),
        "--helm",
        helm,
        "--waivers",
        str(waivers),
    ]


def _waivers(tmp_path: Path, version: str, expires: str) -> Path:
    path = tmp_path / f"waivers-{version}-{expires}.yaml"
    path.write_text(waiver_text(version, expires), encoding="utf-8")
    return path


def _reasons(waivers: Path) -> list[str]:
    return re.findall(r"reason: >-\n    (.+)\n", waivers.read_text(encoding="utf-8"))


def _run(version: str, renderer, tmp_path: Path, waivers: Path) -> ReportRun:
    """What ``conformance check README-FILES --waivers FILE`` decides, in-process on the renders the label test
    made: each case through the pipeline with the run's waivers (the engine attaches them), the CLI's verdict."""
    options = Options(waivers=load_waivers(waivers))
    chart = _chart(version, renderer.helm.path, tmp_path)
    results = [evaluate_case(Case(chart, str(p), renderer, options=options)) for p in readme_values(version)]
    return ReportRun(results, False, lambda: None, waivers=options.waivers)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_waiver_file_of_the_chart_defects_turns_the_run_green_and_expired_red(version, renderer, tmp_path):
    green = _waivers(tmp_path, version, FUTURE)
    assert _reasons(green), f"{version}: README values meet no chart defect, nothing to waive"
    run = _run(version, renderer, tmp_path, green)
    assert run.exit_code() == 0, [f.detail() for f in blocking(run.findings(), strict=False)]
    assert not unmatched(run.waivers, run.findings()), "a waiver of readme_pins matches no finding"
    assert counts(run.findings())["accepted"] >= len(_reasons(green))

    expired = _waivers(tmp_path, version, PAST)
    run = _run(version, renderer, tmp_path, expired)
    assert run.exit_code() == 1
    shown = "\n".join(f.detail() for f in blocking(run.findings(), strict=False))
    for reason in _reasons(expired):
        assert f"expired on {PAST}" in shown and reason in shown, (reason, shown)


def _expired_shown(text: str, waivers: Path) -> None:
    assert "NOT conformant" in text and f"expired on {PAST}" in text, text[-3000:]
    flat = " ".join(text.split())
    for reason in _reasons(waivers):
        assert reason[:60] in flat, (reason, text[-3000:])


@pytest.mark.parametrize("version", ["6.24.0", "6.25.1", "6.31.0"])  # one per era
def test_the_conformance_command_agrees(version: str, tmp_path: Path) -> None:
    env = clean_env(PYTHONPATH=str(REPO))
    helm = str(REPO / ".tools/bin/helm3")
    command = [sys.executable, "-m", "quickmeet_conformance.cli"]
    for expires, wanted in ((FUTURE, 0), (PAST, 1)):
        waivers = _waivers(tmp_path, version, expires)
        proc = subprocess.run(
            [*command, *_argv(version, helm, waivers)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=300,
            check=False,
        )
        assert proc.returncode == wanted, proc.stdout[-3000:] + proc.stderr
        if wanted:
            _expired_shown(proc.stdout + proc.stderr, waivers)
