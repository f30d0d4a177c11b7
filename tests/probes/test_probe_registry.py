"""Probe rules are registered like every rule: ``conformance explain``, the JSON report and SARIF know them,
and the suites judge through ``check_probe``, which cites the registry's contract and fix (the one place)."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import jsonschema
import pytest

from quickmeet_conformance.assertions import check_probe
from quickmeet_conformance.findings import Finding, Severity, Verdict
from quickmeet_conformance.probes import ProbeResult, ddp, nats_bus
from quickmeet_conformance.probes.context import BusContext, DdpContext
from quickmeet_conformance.probes.rules import evaluate_probe_rule, rules_of_probe
from quickmeet_conformance.reports.probes import probe_results_dict
from quickmeet_conformance.reports.sarif import sarif_log
from quickmeet_conformance.rules.engine import rules_for_lane

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "tests/reports/data/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def _probe_ids() -> set[str]:
    return {
        value
        for module in (ddp, nats_bus)
        for name, value in vars(module).items()
        if name.startswith("RULE_")
    }


def test_every_probe_rule_is_registered_with_contract_and_fix() -> None:
    registered = {r.id: r for r in rules_for_lane("probes")}
    assert set(registered) == _probe_ids(), f"registry vs probes: {sorted(set(registered) ^ _probe_ids())}"
    for rule_obj in registered.values():
        assert rule_obj.contract.startswith("CONTRACT.md > ") and rule_obj.fix, rule_obj


def test_suites_judge_every_probe_through_the_registry() -> None:
    """What the probe suites do: every test hands its rule's findings to ``check_probe``, which has no contract
    or fix parameter and shows the registry's, so a suite cannot cite a contract line of its own."""
    for suite in sorted((REPO / "suites/probes").glob("test_*.py")):
        tree = ast.parse(suite.read_text(encoding="utf-8"))
        for test in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")):
            calls = {
                c.func.id for c in ast.walk(test) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
            }
            assert "check_probe" in calls, f"{suite.name}::{test.name} judges without check_probe"
    assert not {"contract", "fix"} & set(inspect.signature(check_probe).parameters), (
        "check_probe takes a contract"
    )
    rule_obj = next(r for r in rules_for_lane("probes") if r.id == "bus.hub-single")
    failed = Finding(rule_obj.id, Verdict.FAIL, "2 nodes announce 'hub'", severity=Severity.ERROR)
    with pytest.raises(pytest.fail.Exception) as shown:
        check_probe([failed], target="nats://nats:4222")
    assert f"contract: {rule_obj.contract}" in str(shown.value) and f"fix: {rule_obj.fix}" in str(
        shown.value
    ), shown.value


def test_probe_findings_reach_json_and_sarif() -> None:
    failed = Finding("bus.hub-single", Verdict.FAIL, "2 nodes announce 'hub'", severity=Severity.ERROR)
    results = [ProbeResult("nats://***@nats:4222", (failed,))]
    (entry,) = probe_results_dict(results, strict=False)
    assert entry["target"] == "nats://***@nats:4222" and entry["rules"][0]["status"] == "fail", entry
    log = sarif_log([], probes=results)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["bus.hub-single"], run["tool"]["driver"][
        "rules"
    ]
    (result,) = run["results"]
    assert result["level"] == "error" and "nats://***@nats:4222" in json.dumps(result["locations"]), result


def test_a_crashing_probe_rule_is_an_error_never_a_pass() -> None:
    """Probe rules run through the engine's crash guard: a check that raises gives one ERROR finding."""
    broken = BusContext(None)  # type: ignore[arg-type]  # no observation: every bus check raises
    (finding,) = evaluate_probe_rule(broken, nats_bus.RULE_REACHABLE)
    assert finding.verdict is Verdict.ERROR and "internal error in rule bus.reachable" in finding.message, (
        finding
    )


def test_each_probe_rule_is_judged_only_on_its_probe_context() -> None:
    """A probe's rules are those whose id starts with its name; another probe's context is refused."""
    assert {r.id.split(".")[0] for r in rules_of_probe("bus")} == {BusContext.probe}
    assert {r.id.split(".")[0] for r in rules_of_probe("ws")} == {DdpContext.probe}
    with pytest.raises(ValueError, match="no rule of the bus probe"):
        evaluate_probe_rule(BusContext(None), ddp.RULE_SOCKJS_HANDSHAKE)  # type: ignore[arg-type]
