"""The conformance suites themselves (suites/static), run the way a user runs them against each public chart,
with the values files written for it, on helm 3 and helm 4: the only failing tests are the chart's known
defects (upstream_charts.DEFECTS). The upgrade suite runs the public upgrade through the default matrix."""

from __future__ import annotations

import re

import pytest
from suite_runner import run_pytest
from upstream_charts import REPO, VERSIONS, expected_defects, require_upstream, values_files

RULE_OF_TEST = {  # suite test name -> the rule it checks (for the known defects)
    "test_stream_hub_rollout_never_runs_two": "streamhub.rollout-never-two",
    "test_dependency_conditions_are_readable": "helm.dependency-condition",
}


@pytest.mark.parametrize("version", VERSIONS)
def test_static_suite_on_public_chart(version, tmp_path):
    chart = require_upstream(version)
    values = values_files(version)
    args = [
        "suites/static",
        "-q",
        "-rf",
        "--chart",
        str(chart),
        "--helm",
        str(REPO / ".tools/bin/helm3"),
        "--helm",
        str(REPO / ".tools/bin/helm4"),
    ]
    for path in values:
        args += ["--values", str(path)]
    proc = run_pytest(*args, timeout_s=300)
    output = proc.output
    failed = set(re.findall(r"^FAILED \S+::(\w+)\[([\w.-]+)@helm[34]\]", output, re.M))
    expected = {
        (test, stem)
        for stem in (p.stem for p in values)
        for test, rule in RULE_OF_TEST.items()
        if rule in expected_defects(version, stem)
    }
    assert proc.returncode in (0, 1), output[-3000:]
    assert failed == expected, (
        f"suites/static on rocketchat-{version}: failing tests {sorted(failed)}, expected only the known defects "
        f"{sorted(expected)}\n{output[-3000:]}"
    )


def test_upgrade_suite_on_public_charts_from_the_command_line():
    """suites/upgrade as a user runs it: --from-chart 6.27.1, --chart 6.29.0, the microservices and monolith values
    of each as --upgrade-from/--upgrade-to pairs, helm 3 and 4. Its findings: the WARNING that
    externalMongodbOplogUrl is removed in 6.29.0 (see test_upstream_upgrade.py), and the monolith's target failing
    helm.dependency-condition (the NATS condition defect, pinned in upstream_charts.DEFECTS)."""
    old, new = require_upstream("6.27.1"), require_upstream("6.29.0")
    args = [
        "suites/upgrade",
        "-q",
        "-rf",
        "--chart",
        str(new),
        "--from-chart",
        str(old),
        "--helm",
        str(REPO / ".tools/bin/helm3"),
        "--helm",
        str(REPO / ".tools/bin/helm4"),
    ]
    for stem in ("microservices", "monolith"):
        args += [
            "--upgrade-from",
            str(REPO / "fixtures/upstream/6.27.1" / f"{stem}.yaml"),
            "--upgrade-to",
            str(REPO / "fixtures/upstream/6.29.0" / f"{stem}.yaml"),
        ]
    proc = run_pytest(*args, timeout_s=300)
    output = proc.output
    # the monolith pair's target fails one static rule: 6.29.0's NATS condition 'nats.enabled,
    # microservices.enabled' is unreadable after the comma, so the monolith gets NATS (upstream_charts.DEFECTS)
    failed = set(re.findall(r"^FAILED \S+::(\w+)\[([\w.-]+)@helm[34]\]", output, re.M))
    assert proc.returncode in (0, 1), output[-4000:]
    assert failed == {("test_target_passes_static_lane", "monolith-to-monolith")}, (
        f"suites/upgrade on the public upgrade: failing tests {sorted(failed)}\n{output[-4000:]}"
    )
    assert "helm.dependency-condition" in output, output[-4000:]
    assert "externalMongodbOplogUrl" in output and "stream-hub removed" in output, output[-4000:]
