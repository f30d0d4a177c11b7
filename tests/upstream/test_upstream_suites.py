"""The conformance suites themselves (suites/static), run the way a user runs them against each public chart,
with the values files written for it, on helm 3 and helm 4: the only failing tests are the chart's known
defects (upstream_charts.DEFECTS). The upgrade suite runs the public upgrade through the default matrix."""

from __future__ import annotations

import re
import sys

import pytest
from upstream_charts import REPO, VERSIONS, expected_defects, require_upstream, values_files

from quickmeet_conformance.clusters.processes import run_interruptible

RULE_OF_TEST = {  # suite test name -> the rule it checks (for the known defects)
    "test_stream_hub_rollout_never_runs_two": "streamhub.rollout-never-two",
}


@pytest.mark.parametrize("version", VERSIONS)
def test_static_suite_on_public_chart(version, tmp_path):
    chart = require_upstream(version)
    values = values_files(version)
    args = [sys.executable, "-m", "pytest", "suites/static", "-p", "no:cacheprovider", "-q", "-rf",
            "--chart", str(chart), "--helm", str(REPO / ".tools/bin/helm3"), "--helm", str(REPO / ".tools/bin/helm4")]
    for path in values:
        args += ["--values", str(path)]
    proc = run_interruptible(args, cwd=REPO, errors="replace", timeout=300)
    output = proc.stdout + proc.stderr
    failed = set(re.findall(r"^FAILED \S+::(\w+)\[([\w.-]+)@helm[34]\]", output, re.M))
    expected = {(test, stem) for stem in (p.stem for p in values) for test, rule in RULE_OF_TEST.items()
                if rule in expected_defects(version, stem)}
    assert proc.returncode in (0, 1), output[-3000:]
    assert failed == expected, (
        f"suites/static on rocketchat-{version}: failing tests {sorted(failed)}, expected only the known defects "
        f"{sorted(expected)}\n{output[-3000:]}"
    )
