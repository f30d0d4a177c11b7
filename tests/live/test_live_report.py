"""A failing live case, the way a user meets it: the JSON report carries a ``live`` section (cluster, each case's
rule verdicts, its log and the diagnostics captured while its namespace existed), and secrets planted in the
values reach none of the outputs of that run (terminal with ``-rA -vv``, JUnit, JSON report, SARIF), even
though the release really ran with them: they are in its Secrets, its Ingress and an image reference, and the
failing case attaches events, pod statuses and ``kubectl describe``. A second case fails at ``helm install``:
the chart's own ``fail`` quotes a credential URL, which the progress lines, the failure and the rollout error
all carry."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml
from suite_runner import report_args, report_paths

pytestmark = pytest.mark.live

MARKERS = {
    "password": "QMCLIVE1pw",
    "root_password": "QMCLIVE2ro'o\"t\\pw",
    "nats_url_password": "QMCLIVE3nats",
    "image_password": "QMCLIVE4image",
    "helm_error_password": "QMCLIVE5helm",
}
VALUES = {
    "microservices": {
        "enabled": True,
        # no node has 1000 CPUs: ddp-streamer stays Pending (Unschedulable), the case fails
        "ddpStreamer": {"resources": {"requests": {"cpu": "1000"}}},
        # a credential URL where the attached diagnostics quote it (kubectl get -o wide: IMAGES)
        "presence": {"image": {"tag": f"nats://natsuser:{MARKERS['image_password']}@nats:4222"}},
    },
    "mongodb": {
        "enabled": True,
        "auth": {"passwords": [MARKERS["password"]], "rootPassword": MARKERS["root_password"]},
    },
    "host": "chat.example.com",
    "ingress": {
        "enabled": True,
        "ingressClassName": "nginx",
        "annotations": {"example.com/bus": f"nats://natsuser:{MARKERS['nats_url_password']}@nats:4222"},
        "tls": [{"secretName": "chat-tls", "hosts": ["chat.example.com"]}],
    },
}

# a credential URL where the chart's own `fail` quotes it: helm install fails, and its error reaches the
# progress lines, the failure message and the rollout error
HELM_ERROR_VALUES = {
    "microservices": {"enabled": True},
    "image": {"tag": f"nats://natsuser:{MARKERS['helm_error_password']}@nats:4222"},
}


def _forms(secret: str) -> dict[str, str]:
    return {
        "verbatim": secret,
        "repr-escaped": repr(secret)[1:-1],
        "json-escaped": json.dumps(secret)[1:-1],
        "base64": base64.b64encode(secret.encode()).decode(),
    }


def test_failing_live_case_is_reported_without_secrets(run_pytest, helm3_path: Path, tmp_path: Path) -> None:
    values, helm_error = tmp_path / "secrets-live.yaml", tmp_path / "secrets-helm-error.yaml"
    values.write_text(yaml.safe_dump(VALUES, sort_keys=False), encoding="utf-8")
    helm_error.write_text(yaml.safe_dump(HELM_ERROR_VALUES, sort_keys=False), encoding="utf-8")
    outputs = report_paths(tmp_path, "junit", "json", "sarif")
    proc = run_pytest(
        [
            "suites/static",
            "suites/live/test_topology.py",
            "--cluster",
            "kwok",
            "--values",
            str(values),
            "--values",
            str(helm_error),
            "--helm",
            str(helm3_path),
            "-rA",
            "-vv",
            *report_args(outputs),
        ],
        timeout=300,
    )
    texts = {"stdout": proc.stdout, "stderr": proc.stderr}
    explain = f"exit {proc.returncode}\n{(proc.stdout + proc.stderr)[-4000:]}"
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr, explain
    for label, path in outputs.items():
        assert path.exists(), f"no {label} output written:\n{explain}"
        texts[label] = path.read_text(encoding="utf-8")

    live = json.loads(texts["json"]).get("live")
    assert live, f"the JSON report has no live section: {sorted(json.loads(texts['json']))}"
    assert live["cluster"]["provider"] == "kwok" and live["cluster"]["kube_version"].startswith("v1.")
    cases = {case["id"].split("@")[0]: case for case in live["cases"]}
    assert sorted(cases) == ["secrets-helm-error", "secrets-live"], sorted(cases)
    case = cases["secrets-live"]
    verdicts = {rule["id"]: rule["verdict"] for rule in case["rules"]}
    assert verdicts.get("live.workloads-available") == "fail", f"live verdicts: {verdicts}"
    failed = next(rule for rule in case["rules"] if rule["id"] == "live.workloads-available")
    assert any("ddp-streamer" in f["message"] for f in failed["findings"]), failed["findings"]
    assert "Insufficient cpu" in (case["rollout_error"] or ""), case["rollout_error"]
    assert "FailedScheduling" in (case["diagnostics"] or ""), "the failing case's events are not attached"
    assert any("install" in line for line in case["log"]), case["log"]
    assert "FailedScheduling" in texts["junit"], "JUnit does not carry the live diagnostics"
    # the secrets were really used by the run: the diagnostics quote the credential URL, masked, and so do
    # helm's error in the other case's progress lines and failure
    assert "natsuser:***@nats:4222" in case["diagnostics"], case["diagnostics"][-3000:]
    failed_install = cases["secrets-helm-error"]
    assert "helm install failed" in (failed_install["rollout_error"] or ""), failed_install["rollout_error"]
    assert "natsuser:***@nats:4222" in failed_install["rollout_error"], failed_install["rollout_error"]
    assert "install: FAILED" in texts["stdout"] and "rollout: helm install failed" in texts["stdout"], explain

    leaks = [
        f"{what} ({form}) in {where}"
        for what, secret in MARKERS.items()
        for form, text in _forms(secret).items()
        for where, output in texts.items()
        if text in output
    ]
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
