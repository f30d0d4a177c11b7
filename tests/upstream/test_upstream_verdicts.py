"""Issue 22's demo on a released stream-hub era chart (6.27.1) with the microservices values its README
describes: the run fails only on chart defects, each labelled as such with its template line and a
post-renderer workaround; a waiver file for them turns the run green (SARIF suppressions, accepted counts,
an unmatched waiver reported); an expired one turns it red with its reason; a bad one is one line, exit 2.
The pytest route (the static suite with --waivers) agrees with the command line."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from suite_runner import clean_env, run_pytest
from upstream_charts import MICROSERVICES, REPO, VALUES_DIR, require_upstream

from quickmeet_conformance.cli import main

VERSION = "6.27.1"
HUB_TEMPLATE = "templates/microservices-stream-hub-deployment.yaml:23"  # maxSurge: 1, literal in the chart


def _check(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _argv(helm: str, stem: str, *extra: str) -> list[str]:
    chart = require_upstream(VERSION)
    return [
        "check",
        str(VALUES_DIR / VERSION / f"{stem}.yaml"),
        "--chart",
        str(chart),
        "--helm",
        helm,
        *extra,
    ]


def _waivers(tmp_path: Path, expires: str, *, stale: bool = True) -> Path:
    text = (
        "- rule: streamhub.rollout-never-two\n"
        "  target: Deployment/rocketchat-stream-hub\n"
        "  reason: chart 6.27.1 hard-codes maxSurge 1; we upgrade with the post-renderer patch (OPS-412)\n"
        f"  expires: {expires}\n"
    )
    if stale:
        text += (
            "- rule: streamhub.single-replica\n"
            "  target: Deployment/rocketchat-stream-hub\n"
            "  reason: an entry that matches nothing\n"
            "  expires: 2099-01-01\n"
        )
    path = tmp_path / f"waivers-{expires}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _blocking(report: dict) -> list[dict]:
    return [
        f
        for case in report["cases"]
        for rule in case["rules"]
        for f in rule["findings"]
        if f["status"] == "fail"
    ]


@pytest.mark.parametrize("stem", MICROSERVICES)
def test_the_run_fails_only_on_chart_defects_each_labelled(stem: str, renderer, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, _, err = _check(*_argv(renderer.helm.path, stem, "--format", "json", "-o", str(report)))
    assert code == 1 and not err, err
    document = json.loads(report.read_text(encoding="utf-8"))
    blocking = _blocking(document)
    assert [f["rule_id"] for f in blocking] == ["streamhub.rollout-never-two"], blocking
    fixed_by = blocking[0]["fixed_by"]
    assert fixed_by["kind"] == "chart" and fixed_by["hard_coded"] and fixed_by["template"] == HUB_TEMPLATE
    assert (
        "--post-renderer" in fixed_by["workaround"]
        and "/spec/strategy/rollingUpdate/maxSurge" in fixed_by["workaround"]
    )
    assert document["verdicts"]["fixed_by"]["chart"] >= 1

    code, out, _ = _check(*_argv(renderer.helm.path, stem))
    assert f"fixed by: chart: {HUB_TEMPLATE} hard-codes this; no values key changes it" in out, out
    assert "fix: set the stream-hub Deployment strategy" not in out, "a chart defect must not say 'set ...'"
    assert (
        re.search(r"fixed by: chart: templates/\S+:\d+ hard-codes this", out) and "only in the chart" in out
    )
    # every chart-kind fix text names no key to set
    assert not re.search(r"fixed by: chart:.*\bset\b", out), out


def test_a_waiver_file_turns_it_green_and_an_expired_one_red(renderer, tmp_path: Path) -> None:
    waivers = _waivers(tmp_path, "2099-12-31")
    sarif, report = tmp_path / "out.sarif", tmp_path / "report.json"
    code, out, err = _check(
        *_argv(renderer.helm.path, "microservices", "--waivers", str(waivers), "--sarif", str(sarif))
    )
    assert code == 0, out + err
    assert f"wrote sarif report: {sarif}" in err, err  # notes go to stderr while the text report is stdout
    assert "ACCEPTED  streamhub.rollout-never-two" in out and "accepted until 2099-12-31" in out, out
    assert "waivers: 2 given, 1 finding(s) accepted, 0 failing on an expired waiver" in out, out
    assert f"waiver matches no finding: {waivers} entry 2 (line 5)" in out, out
    log = json.loads(sarif.read_text(encoding="utf-8"))
    (hub,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "streamhub.rollout-never-two"]
    (suppression,) = hub["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "OPS-412" in suppression["justification"] and "2099-12-31" in suppression["justification"]
    assert hub["properties"]["fixedBy"]["kind"] == "chart"
    assert any(
        "waiver matches no finding" in n["message"]["text"]
        for n in log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    )

    _check(
        *_argv(
            renderer.helm.path,
            "microservices",
            "--waivers",
            str(waivers),
            "--format",
            "json",
            "-o",
            str(report),
        )
    )
    verdicts = json.loads(report.read_text(encoding="utf-8"))["verdicts"]["waivers"]
    assert (verdicts["given"], verdicts["accepted"], verdicts["expired"]) == (2, 1, 0)
    assert [w["rule"] for w in verdicts["unmatched"]] == ["streamhub.single-replica"]

    expired = _waivers(tmp_path, "2020-01-31", stale=False)
    code, out, _ = _check(*_argv(renderer.helm.path, "microservices", "--waivers", str(expired)))
    assert code == 1 and "FAIL   streamhub.rollout-never-two" in out, out
    assert "expired on 2020-01-31" in out and "OPS-412" in out, out
    assert "NOT conformant" in out


@pytest.mark.parametrize(
    "fmt,needle",
    [("junit", 'name="fixed_by"'), ("markdown", "fixed by: **chart**"), ("html", "<dt>fixed by</dt>")],
)
def test_every_format_shows_who_fixes(fmt: str, needle: str, renderer, tmp_path: Path) -> None:
    target = tmp_path / f"report.{fmt}"
    waivers = _waivers(tmp_path, "2099-12-31")
    code, _, err = _check(
        *_argv(
            renderer.helm.path, "microservices", "--format", fmt, "-o", str(target), "--waivers", str(waivers)
        )
    )
    assert code == 0 and not err, err
    text = target.read_text(encoding="utf-8")
    assert needle in text and HUB_TEMPLATE in text, text[:2000]
    assert "OPS-412" in text


def test_a_bad_waiver_file_is_one_line_and_exit_2(renderer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- rule: streamhub.rollout-never-two\n  target: x\n  expires: 2026-13-01\n", encoding="utf-8"
    )
    code, out, err = _check(*_argv(renderer.helm.path, "microservices", "--waivers", str(bad)))
    assert code == 2 and not out, out
    assert err.strip().count("\n") == 0 and f"{bad} entry 1 (line 1): missing reason" in err, err


def test_the_pytest_route_agrees(tmp_path: Path) -> None:
    """suites/static with --waivers (and QMC_WAIVERS): green with the waiver, red with an expired one."""
    chart = require_upstream(VERSION)
    args = [
        "suites/static",
        "-q",
        "-k",
        "rollout",
        "--chart",
        str(chart),
        "--helm",
        str(REPO / ".tools/bin/helm3"),
        "--values",
        str(VALUES_DIR / VERSION / "microservices.yaml"),
    ]
    green = run_pytest(*args, "--waivers", str(_waivers(tmp_path, "2099-12-31")), timeout_s=300)
    assert green.returncode == 0, green.explain()
    assert "ACCEPTED" in green.output and "only in the chart" in green.output, green.explain()
    red = run_pytest(*args, env=clean_env(QMC_WAIVERS=str(_waivers(tmp_path, "2020-01-31"))), timeout_s=300)
    assert red.returncode == 1 and "expired on 2020-01-31" in red.output, red.explain()
    bad = tmp_path / "bad.yaml"
    bad.write_text("- [\n", encoding="utf-8")
    broken = run_pytest(*args, "--waivers", str(bad), timeout_s=300)
    assert broken.returncode == 4 and "--waivers: " in broken.output and "bad.yaml" in broken.output, (
        broken.explain()
    )
