"""No credential of a connection reaches any output: a MongoDB password the driver refuses, one that differs
from the server's, and NATS credentials the server refuses are named by their values key, never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.pipeline import Case, evaluate_case

REPO = Path(__file__).resolve().parents[2]
CHART = REPO.parent / "shared" / "upstream-charts" / "rocketchat-6.31.0"
SECRETS = ("Pl@nted:pass/q9zx7", "planted-wrong-pw", "planted-nats-pw", "planted-root-pw")


def test_connection_findings_print_no_secret(renderer, tmp_path) -> None:
    if not (CHART / "Chart.yaml").is_file():
        pytest.skip(f"public chart not found at {CHART}")
    values = tmp_path / "planted.yaml"
    values.write_text(
        f"""mongodb:
  auth:
    passwords: ["{SECRETS[0]}"]
    rootPassword: {SECRETS[3]}
microservices:
  enabled: true
nats:
  auth:
    enabled: true
    basic:
      users: [{{user: rocketchat, password: {SECRETS[2]}}}]
""",
        encoding="utf-8",
    )
    chart = load_chart(str(CHART), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    result = evaluate_case(Case(chart, str(values), renderer))
    failed = {rule for rule, fs in result.findings.items() for f in fs if f.verdict == Verdict.FAIL}
    assert {"connections.mongo-url-parses", "connections.nats-credentials"} <= failed, failed

    from quickmeet_conformance.reports.model import report_dict
    from quickmeet_conformance.reports.sarif import sarif_log
    from quickmeet_conformance.reports.terminal import write_summary

    lines: list[str] = []
    write_summary(lambda text="", **_: lines.append(text), [result], strict=True, failures_only=False)
    outputs = "\n".join(lines) + json.dumps(report_dict([result])) + json.dumps(sarif_log([result]))
    assert "mongodb.auth.passwords[0]" in outputs
    leaked = [s for s in SECRETS if s in outputs or s.split("/")[-1] in outputs]
    assert not leaked, f"credentials {leaked} reached the terminal summary, the JSON report or SARIF"
