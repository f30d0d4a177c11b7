"""``conformance check`` on the public chart's real upgrade, 6.27.1 -> 6.29.0, as a customer runs it: with
``--reuse-values`` the CLI simulates ``helm upgrade --reuse-values`` (the pytest route's --reuse-values) and
reports the refusal that a real ``helm upgrade --reuse-values`` meets: the reused 6.27.1 values lack
microservices.streamHub.enabled, so 6.29.0's stream-hub gate refuses app 8.0.1."""

from __future__ import annotations

import io
import json

from upstream_charts import VALUES_DIR, require_upstream

from quickmeet_conformance.cli import main


def _check(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _upgrade_argv(helm_path: str, *extra: str) -> list[str]:
    return [
        "check",
        str(VALUES_DIR / "6.29.0" / "microservices.yaml"),
        "--chart",
        str(require_upstream("6.29.0")),
        "--upgrade-from",
        str(VALUES_DIR / "6.27.1" / "microservices.yaml"),
        "--from-chart",
        str(require_upstream("6.27.1")),
        "--helm",
        helm_path,
        *extra,
    ]


def test_check_reuse_values_reports_the_stream_hub_gate(renderer, tmp_path) -> None:
    report = tmp_path / "report.json"
    code, out, err = _check(
        *_upgrade_argv(renderer.helm.path, "--reuse-values", "--format", "json", "-o", str(report))
    )
    assert code == 1 and not err, out + err
    (upgrade,) = json.loads(report.read_text())["upgrades"]
    (rule,) = [r for r in upgrade["rules"] if r["id"] == "upgrade.reuse-values"]
    errors = [f for f in rule["findings"] if f["severity"] == "error" and f["verdict"] == "fail"]
    assert rule["verdict"] == "fail" and len(errors) == 1, rule
    message = errors[0]["message"]
    assert "microservices.streamHub.enabled" in message, message
    assert "Stream Hub microservice is only supported" in message, message

    code, out, _ = _check(*_upgrade_argv(renderer.helm.path, "--reuse-values"))
    assert code == 1 and "FAIL   upgrade.reuse-values" in out and "NOT conformant" in out, out


def test_check_without_reuse_values_skips_the_simulation(renderer) -> None:
    code, out, err = _check(*_upgrade_argv(renderer.helm.path, "--verbose"))
    assert code == 0 and not err, out + err
    assert "--reuse-values not requested (pass --reuse-values to simulate it)" in out, out
