"""One answer to "does this finding block the run": the same findings give the same verdict through every
lane (static, upgrade, live, probes: the test's outcome and its JUnit ``verdict`` property) and every report
(terminal, upgrade summary, JSON, SARIF, the JUnit writer, Markdown, HTML), strict or not.
``findings.status_of`` is the one definition; each lane and report is asked here."""

from __future__ import annotations

import re
import sys
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from quickmeet_conformance import assertions
from quickmeet_conformance.assertions import ConformanceWarning, check_probe, check_rule
from quickmeet_conformance.findings import Finding, Severity, Status, Verdict, status_of
from quickmeet_conformance.live import checks as live_checks
from quickmeet_conformance.pipeline import CaseResult
from quickmeet_conformance.plugin import SESSION_KEY
from quickmeet_conformance.plugin_live import check_live_rule
from quickmeet_conformance.plugin_upgrade import check_upgrade_rule
from quickmeet_conformance.reports import terminal
from quickmeet_conformance.reports import upgrade as upgrade_report
from quickmeet_conformance.reports.html import html_report
from quickmeet_conformance.reports.junit import JUnitSuite, junit_xml
from quickmeet_conformance.reports.markdown import ICON, markdown_report
from quickmeet_conformance.reports.matrix import MARKS, rule_anchor, shown_verdict, verdict_matrix
from quickmeet_conformance.reports.model import report_dict, rules_dict
from quickmeet_conformance.reports.sarif import sarif_log
from quickmeet_conformance.subprocesses import run
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
        options=SimpleNamespace(kube_version="1.35.0"),
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
    return UpgradeResult(case=case, findings={RULE: findings}, target=_static(findings))  # type: ignore[arg-type]  # the fields read


def _live_node(strict: bool) -> SimpleNamespace:
    stash = pytest.Stash()
    stash[SESSION_KEY] = SimpleNamespace(settings=SimpleNamespace(strict=strict))  # type: ignore[misc]  # only settings.strict is read
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


def _lanes(findings: list[Finding], strict: bool) -> dict[str, tuple[str, list[tuple[str, Any]]]]:
    """Each lane's outcome for the findings, and the test properties it recorded (``--junitxml`` writes them)."""
    props: dict[str, list[tuple[str, Any]]] = {lane: [] for lane in ("static", "upgrade", "live", "probes")}
    node = _live_node(strict)
    node.user_properties = props["live"]
    probe_findings = [replace(f, rule_id=PROBE) for f in findings]
    runs: dict[str, Callable[[], None]] = {
        "static": lambda: check_rule(_static(findings), RULE, strict=strict, properties=props["static"]),
        "upgrade": lambda: check_upgrade_rule(
            _upgrade(findings), RULE, strict=strict, properties=props["upgrade"]
        ),
        "live": lambda: check_live_rule(_live(findings), RULE, node),  # type: ignore[arg-type]  # the fields read
        "probes": lambda: check_probe(
            probe_findings, target="nats://x", strict=strict, properties=props["probes"]
        ),
    }
    return {lane: (outcome(fn), props[lane]) for lane, fn in runs.items()}


def _markdown_marks(text: str) -> tuple[str, str, list[str]]:
    """From a one-case Markdown report: the matrix cell's mark, the rule's mark and each finding's icon."""
    (cell,) = re.findall(rf"^\| `{re.escape(RULE)}` \| \[(.+?)\]\(#", text, flags=re.M)
    anchor = re.escape(rule_anchor("v@helm3", RULE))
    (rule_mark,) = re.findall(rf'<a id="{anchor}"></a>\**(.+?) (?:`|\|)', text)  # a heading or a table row
    icons = re.findall(r'<a id="f-[^"]*"></a>(\S+) \*\*', text)
    return cell, rule_mark, icons


def _html_marks(text: str) -> tuple[str, str]:
    """From a one-case HTML report: the matrix cell's verdict and the rule's badge."""
    (cell,) = re.findall(rf'data-rule="{re.escape(RULE)}"[^>]*data-verdict="([a-z]+)"', text)
    anchor = re.escape(rule_anchor("v@helm3", RULE))
    (badge,) = re.findall(rf'id="{anchor}">(?:<h4>)?<span class="badge v-([a-z]+)"', text)
    return cell, badge


def _junit_outcome(findings: list[Finding], strict: bool) -> str:
    """What ``conformance check --format junit`` makes of the rule: fail, error, skip or pass."""
    root = ET.fromstring(
        junit_xml([JUnitSuite("v@helm3", {RULE: findings})], strict=strict).split("\n", 1)[1]
    )
    (case,) = root.iter("testcase")
    for tag, seen in (("failure", "fail"), ("error", "error"), ("skipped", "skip")):
        if case.find(tag) is not None:
            return seen
    return "pass"


@pytest.mark.parametrize(("findings", "strict", "expected"), PARAMS)
def test_every_lane_and_report_gives_the_same_verdict(
    findings: list[Finding], strict: bool, expected: Status
) -> None:
    assert status_of(findings, strict=strict) == expected
    want = expected_outcome(expected)

    ran = _lanes(findings, strict)
    lanes = {lane: seen for lane, (seen, _) in ran.items()}
    assert lanes == dict.fromkeys(lanes, want), f"expected every lane to {want}, found {lanes}"
    recorded = {lane: [v for n, v in props if n == "verdict"] for lane, (_, props) in ran.items()}
    assert recorded == dict.fromkeys(recorded, [expected.value]), (
        f"JUnit 'verdict' property: expected the run status {expected.value!r} in every lane, found {recorded}"
    )

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

    junit = _junit_outcome(findings, strict)
    want_junit = {Status.FAIL: "fail", Status.ERROR: "error", Status.SKIP: "skip"}.get(expected, "pass")
    assert junit == want_junit, f"JUnit writer: expected {want_junit}, found {junit}"

    report = report_dict([_static(findings)], strict=strict)
    cell, rule_mark, icons = _markdown_marks(markdown_report(report))
    mark = f"{ICON[expected.value]} {MARKS[expected.value]}"
    assert (cell, rule_mark) == (mark, mark), f"Markdown: expected {mark} in the matrix and the rule"
    failed = [f for f in findings if f.failed]
    shown = [ICON[status_of([f], strict=strict).value] for f in failed]
    assert icons == shown, f"Markdown: each failed finding marked by its own status {shown}, found {icons}"
    if expected.blocks:
        assert ICON[Status.FAIL.value] in icons or ICON[Status.ERROR.value] in icons, icons

    cell, badge = _html_marks(html_report(report))
    assert (cell, badge) == (expected.value, expected.value), f"HTML: matrix {cell}, rule badge {badge}"


@pytest.mark.parametrize(("findings", "strict", "expected"), PARAMS)
def test_a_model_without_statuses_is_judged_under_the_runs_strict(
    findings: list[Finding], strict: bool, expected: Status
) -> None:
    """A report model whose rules carry no ``status`` (written before statuses were recorded) is judged by
    ``status_of`` under the run's strict, never by the severities alone."""
    report = report_dict([_static(findings)], strict=strict)
    for rule in report["cases"][0]["rules"]:
        del rule["status"]
        for finding in rule["findings"]:
            finding.pop("status", None)
    (rule,) = report["cases"][0]["rules"]
    assert shown_verdict(rule, strict=strict) == expected.value
    cell = verdict_matrix(report["cases"], strict=strict).cell(RULE, "v.yaml", "helm3")
    assert cell is not None and cell.verdict == expected.value
    cell_md, rule_mark, _ = _markdown_marks(markdown_report(report))
    mark = f"{ICON[expected.value]} {MARKS[expected.value]}"
    assert (cell_md, rule_mark) == (mark, mark), f"Markdown without statuses: expected {mark}"


def test_the_live_lane_concludes_through_assertions(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_live_rule`` has no pass/skip/warn/fail logic of its own: it asks ``assertions.conclude``."""
    calls: list[str] = []

    def spy(findings: Any, **kwargs: Any) -> None:
        calls.append(kwargs["header"])
        assertions.conclude(findings, **kwargs)

    monkeypatch.setattr(live_checks, "conclude", spy)
    finding = _finding(Verdict.FAIL, Severity.WARNING)
    assert outcome(lambda: check_live_rule(_live([finding]), RULE, _live_node(False))) == "warn"  # type: ignore[arg-type]  # the fields read
    assert calls == [f"{RULE} on v.yaml (namespace ns)"], calls


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


FAKE_INGRESS = """\
import pytest

from quickmeet_conformance.probes.ddp import DdpObservation, DdpSession


@pytest.fixture(scope="session")
def ingress_url():
    return "http://ingress.invalid"


@pytest.fixture(scope="session")
def ddp_observation(ingress_url):
    # both routes answered, but nothing tells which server: ws.reaches-ddp-streamer's warning-only finding
    return DdpObservation(
        base_url=ingress_url,
        sockjs_info=None,
        sockjs_info_status=None,
        sockjs_info_error="",
        websocket=DdpSession("/websocket", "ws://ingress.invalid/websocket", "raw", reached=True),
        sockjs=DdpSession("/sockjs", "ws://ingress.invalid/sockjs", "sockjs", reached=True),
    )
"""


def test_qmc_strict_fails_a_warning_only_probe_finding_in_the_probe_lane(tmp_path: Path) -> None:
    """suites/probes run as a user runs them, on a fake observation whose only finding is a warning: it passes
    (with the warning) by default and fails the run with ``QMC_STRICT=1`` or ``--conformance-strict``."""
    from suite_runner import REPO, clean_env

    (tmp_path / "qmc_fake_ingress.py").write_text(FAKE_INGRESS, encoding="utf-8")
    cmd = [sys.executable, "-m", "pytest", "suites/probes/test_websocket.py", "-k", "reaches_ddp_streamer"]
    cmd += ["-p", "no:cacheprovider", "-p", "quickmeet_conformance.plugin", "-p", "qmc_fake_ingress"]
    cmd += ["--cluster", "none", "-q", "-rA"]
    runs = {}
    for name, extra, env in (
        ("default", [], {}),
        ("QMC_STRICT=1", [], {"QMC_STRICT": "1"}),
        ("--conformance-strict", ["--conformance-strict"], {}),
    ):
        proc = run(
            cmd + extra, cwd=REPO, timeout_s=90, grace_s=10, env=clean_env(PYTHONPATH=str(tmp_path), **env)
        )
        runs[name] = proc
    codes = {name: proc.returncode for name, proc in runs.items()}
    expected = {"default": 0, "QMC_STRICT=1": 1, "--conformance-strict": 1}
    assert codes == expected, (
        f"exit codes: expected {expected}, found {codes}\n" + runs["default"].stdout[-3000:]
    )
    assert "1 passed" in runs["default"].stdout, runs["default"].stdout[-3000:]
    strict_out = runs["QMC_STRICT=1"].stdout
    assert "1 failed" in strict_out and "could not tell which server answered /websocket" in strict_out, (
        strict_out[-3000:]
    )


def test_strict_fails_the_upgrade_target_on_a_to_side_warning() -> None:
    """Under --conformance-strict a warning-severity finding on the to-side fails the static lane, so it fails
    upgrade.target-passes-static as well ("the upgraded release passes every static rule")."""
    from suite_runner import HELM3, run_suite

    seed = "fixtures/values/seed-docs.yaml"  # its static lane warns (resources_set): fails only when strict
    args = ("suites/upgrade", "--upgrade-from", seed, "--upgrade-to", seed, "--helm", HELM3)
    args += ("-k", "target_passes_static")
    runs = {"default": run_suite(*args), "strict": run_suite(*args, "--conformance-strict")}
    codes = {name: run.returncode for name, run in runs.items()}
    assert codes == {"default": 0, "strict": 1}, runs["strict"].explain()
