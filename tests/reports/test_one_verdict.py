"""One answer to "does this finding block the run": the same findings give the same verdict through every
lane (static, upgrade, live, probes) and every report (terminal, upgrade summary, JSON, SARIF, JUnit
properties), strict or not. ``findings.status_of`` is the one definition; each lane is asked here."""

from __future__ import annotations

import warnings
from dataclasses import replace
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from quickmeet_conformance.assertions import ConformanceWarning, check_probe, check_rule
from quickmeet_conformance.findings import Finding, Severity, Status, Verdict, status_of
from quickmeet_conformance.pipeline import CaseResult
from quickmeet_conformance.plugin import SESSION_KEY
from quickmeet_conformance.plugin_live import check_live_rule
from quickmeet_conformance.plugin_upgrade import check_upgrade_rule
from quickmeet_conformance.reports import terminal
from quickmeet_conformance.reports import upgrade as upgrade_report
from quickmeet_conformance.reports.model import rules_dict
from quickmeet_conformance.reports.sarif import sarif_log
from quickmeet_conformance.upgrade import UpgradeResult

RULE = "ingress.tls-covers-host"  # any registered rule: the findings' own severities decide
PROBE = "bus.hub-single"


def _finding(verdict: Verdict, severity: Severity) -> Finding:
    return Finding(RULE, verdict, f"{verdict.value} at {severity.value}", severity=severity)


# (name, findings, status when not strict, status when strict)
CASES = [
    ("error-fails", [_finding(Verdict.FAIL, Severity.ERROR)], Status.FAIL, Status.FAIL),
    ("warning-fails", [_finding(Verdict.FAIL, Severity.WARNING)], Status.WARN, Status.FAIL),
    (
        "warning-and-pass",
        [_finding(Verdict.PASS, Severity.WARNING), _finding(Verdict.FAIL, Severity.WARNING)],
        Status.WARN,
        Status.FAIL,
    ),
    (
        "mixed-severities",
        [_finding(Verdict.FAIL, Severity.WARNING), _finding(Verdict.FAIL, Severity.ERROR)],
        Status.FAIL,
        Status.FAIL,
    ),
    ("could-not-run", [_finding(Verdict.ERROR, Severity.WARNING)], Status.ERROR, Status.ERROR),
    ("skipped", [_finding(Verdict.SKIP, Severity.INFO)], Status.SKIP, Status.SKIP),
    ("passes", [_finding(Verdict.PASS, Severity.ERROR)], Status.PASS, Status.PASS),
]
PARAMS = [
    pytest.param(f, s, e, id=f"{n}-{'strict' if s else 'default'}")
    for n, f, loose, tight in CASES
    for s, e in ((False, loose), (True, tight))
]


def outcome(run: Callable[[], None]) -> str:
    """What pytest makes of a lane's check: pass, warn, skip or fail."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run()
        except pytest.skip.Exception:
            return "skip"
        except pytest.fail.Exception:
            return "fail"
    return "warn" if any(issubclass(w.category, ConformanceWarning) for w in caught) else "pass"


def expected_outcome(status: Status) -> str:
    return "fail" if status.blocks else status.value


def _case() -> SimpleNamespace:
    helm = SimpleNamespace(label="helm3", version="v3.19.0", path="helm3")
    chart = SimpleNamespace(
        label="rocketchat-1.0.0",
        path="chart",
        name="rocketchat",
        version="1.0.0",
        app_version="7.0.0",
        spec="chart",
    )
    return SimpleNamespace(
        values_path="v.yaml",
        chart=chart,
        renderer=SimpleNamespace(helm=helm),
        id="v@helm3",
        release="rocketchat",
        namespace="default",
    )


def _static(findings: list[Finding]) -> CaseResult:
    return CaseResult(case=_case(), findings={RULE: findings})  # type: ignore[arg-type]  # the fields read


def _upgrade(findings: list[Finding]) -> UpgradeResult:
    side = SimpleNamespace(values_label="a.yaml")
    pair = SimpleNamespace(name="a-to-b", from_side=side, to_side=side, source="cli", description="")
    case = SimpleNamespace(
        pair=pair,
        from_chart=_case().chart,
        to_chart=_case().chart,
        renderer=_case().renderer,
        id="a-to-b@helm3",
        release="rocketchat",
        namespace="default",
    )
    return UpgradeResult(case=case, findings={RULE: findings}, target=_static(findings))  # type: ignore[arg-type]


def _live_node(strict: bool) -> SimpleNamespace:
    stash = pytest.Stash()
    stash[SESSION_KEY] = SimpleNamespace(settings=SimpleNamespace(strict=strict))  # type: ignore[assignment]
    return SimpleNamespace(
        config=SimpleNamespace(stash=stash), user_properties=[], add_report_section=lambda *args: None
    )


def _live(findings: list[Finding]) -> SimpleNamespace:
    return SimpleNamespace(
        findings={RULE: findings},
        static_findings={},
        log=[],
        id="v",
        namespace="ns",
        label="v.yaml",
        view=SimpleNamespace(rollout_error=""),
        diagnostics="",
    )


@pytest.mark.parametrize(("findings", "strict", "expected"), PARAMS)
def test_every_lane_and_report_gives_the_same_verdict(
    findings: list[Finding], strict: bool, expected: Status
) -> None:
    assert status_of(findings, strict=strict) == expected
    want = expected_outcome(expected)

    lanes = {
        "static": outcome(lambda: check_rule(_static(findings), RULE, strict=strict)),
        "upgrade": outcome(lambda: check_upgrade_rule(_upgrade(findings), RULE, strict=strict)),
        "live": outcome(lambda: check_live_rule(_live(findings), RULE, _live_node(strict))),  # type: ignore[arg-type]
        "probes": outcome(
            lambda: check_probe([replace(f, rule_id=PROBE) for f in findings], target="nats://x", strict=strict)
        ),
    }
    assert lanes == dict.fromkeys(lanes, want), f"expected every lane to {want}, found {lanes}"

    blocks = bool(_static(findings).failures(strict=strict))
    assert blocks == expected.blocks, (
        f"CaseResult.failures: expected blocking={expected.blocks}, found {blocks}"
    )
    target = _upgrade(findings).target_failures(strict=strict)
    assert bool(target) == expected.blocks, f"UpgradeResult.target_failures: found {target}"

    mark = expected.value.upper()
    rows = [t for t, _ in terminal.summary_lines([_static(findings)], strict=strict, failures_only=False)]
    assert any(t.strip().startswith(mark) for t in rows[1:]), f"terminal: expected {mark}, found {rows}"
    rows = [
        t for t, _ in upgrade_report.summary_lines([_upgrade(findings)], strict=strict, failures_only=False)
    ]
    assert any(t.strip().startswith(mark) for t in rows[1:]), (
        f"upgrade summary: expected {mark}, found {rows}"
    )

    (rule_entry,) = rules_dict({RULE: findings}, strict=strict)
    assert rule_entry["status"] == expected.value, f"JSON report: found {rule_entry['status']}"

    levels = {r["level"] for r in sarif_log([_static(findings)], strict=strict)["runs"][0]["results"]}
    assert ("error" in levels) == expected.blocks, f"SARIF: error level iff the run fails, found {levels}"
    if strict:
        assert levels <= {"error"}, f"SARIF: under strict every failed finding is an error, found {levels}"


def test_conformance_strict_flag_and_env_and_not_pytests_own() -> None:
    """``--conformance-strict`` and ``QMC_STRICT=1`` make a warning-severity failure fail the run; pytest's own
    ``--strict`` (its strictness options) is pytest's and changes nothing here."""
    from suite_runner import HELM3, clean_env, run_suite

    args = ("-k", "resources_set", "--values", "fixtures/values/seed-docs.yaml", "--helm", HELM3)
    runs = {
        "default": run_suite(*args),
        "--conformance-strict": run_suite(*args, "--conformance-strict"),
        "QMC_STRICT=1": run_suite(*args, env=clean_env(QMC_STRICT="1")),
        "pytest --strict": run_suite(*args, "--strict"),
    }
    codes = {name: run.returncode for name, run in runs.items()}
    expected = {"default": 0, "--conformance-strict": 1, "QMC_STRICT=1": 1, "pytest --strict": 0}
    assert codes == expected, f"exit codes: expected {expected}, found {codes}\n" + runs["default"].explain()
