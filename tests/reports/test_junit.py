"""JUnit XML (``--junitxml``): each conformance test case is named by rule id and values file, and a
failure carries its evidence (expected, found, resource, field path, location) as text and properties."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from suite_runner import HELM3


def _cases(path: Path) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}


def _properties(case: ET.Element) -> list[tuple[str, str]]:
    return [(p.get("name"), p.get("value")) for p in case.iter("property")]


def test_junit_names_cases_by_rule_and_values_and_carries_evidence(
    run_plugin, bad_values: Path, tmp_path: Path
) -> None:
    out = tmp_path / "junit.xml"
    run = run_plugin("--values", str(bad_values), "--helm", HELM3, "--junitxml", str(out), "-q")
    assert run.returncode == 1, run.explain()
    cases = _cases(out)

    single = cases["streamhub.single-replica[bad@helm3]"]
    assert single.get("classname") == "suites.static.test_stream_hub"
    failure = single.find("failure")
    assert failure is not None, "the stream-hub rule should fail for 3 replicas"
    assert "expected:" in failure.text and "found:" in failure.text
    props = _properties(single)
    names = {n for n, _ in props}
    assert ("rule_id", "streamhub.single-replica") in props and ("verdict", "fail") in props
    assert ("values_file", str(bad_values)) in props
    assert {"expected", "found", "resource", "field_path", "location"} <= names, props
    assert ("resource", "Deployment/rocketchat-stream-hub") in props
    assert ("field_path", "spec.replicas") in props
    assert any(n == "location" and v.startswith(f"{bad_values}:8:5") for n, v in props), props

    typo = cases["values.ignored-keys[bad@helm3]"]
    assert typo.find("failure") is not None
    assert ("found", "ddpStreamers") in _properties(typo)

    passing = cases["render.succeeds[bad@helm3]"]
    assert passing.find("failure") is None and passing.find("skipped") is None
    assert ("verdict", "pass") in _properties(passing)
    assert not [n for n, _ in _properties(passing) if n in ("expected", "found")], (
        "a pass carries no evidence"
    )
    assert all("[bad@helm3]" in name for name in cases), sorted(cases)
