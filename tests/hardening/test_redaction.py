"""Secrets never leave the run: markers planted in values (passwords, a root password with quotes and
backslashes, credentials in MongoDB and NATS URLs, a TLS private key) appear in no output of a
verbose run: terminal (``-rA -vv``), JUnit XML, the JSON report, SARIF, the HTML and the Markdown report,
neither verbatim, nor escaped (Python, JSON, HTML, URL, Mermaid), nor base64-encoded. The values are placed
where rules and helm quote what they find, and the HTML/Markdown draw (Ingress hosts, TRANSPORTER URLs)."""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from pathlib import Path

import yaml
from suite_runner import HELM3, REPO, report_args, report_paths, run_suite

PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDQMCMARKTLSKEY"
MARKERS = {
    "password": "QMCMARK1pw",
    "root_password": "QMCMARK2ro'o\"t\\pw",
    "mongo_url_password": "QMCMARK3mongo",
    "nats_url_password": "QMCMARK4nats",
    "tls_key": "QMCMARKTLSKEY",
    "helm_error_password": "QMCMARK5helm",
}
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n{MARKERS['tls_key']}\n-----END PRIVATE KEY-----\n"

VALUES = {
    # embedded MongoDB with planted passwords; the key PEM as the host (ROOT_URL, Ingress host, TLS rule);
    # NATS credentials in an annotation the Ingress carries
    "secrets-embedded.yaml": {
        "microservices": {"enabled": True},
        "mongodb": {
            "enabled": True,
            "auth": {"passwords": [MARKERS["password"]], "rootPassword": MARKERS["root_password"]},
        },
        "host": PEM,
        "ingress": {
            "enabled": True,
            "ingressClassName": "nginx",
            "annotations": {"example.com/bus": f"nats://natsuser:{MARKERS['nats_url_password']}@nats:4222"},
            "tls": [{"secretName": "chat-tls", "hosts": ["chat.example.com"]}],
        },
    },
    # an external MongoDB URL with credentials, and a typo'd key (ignored-keys quotes the file)
    "secrets-external.yaml": {
        "mongodb": {"enabled": False},
        "externalMongodbUrl": f"mongodb://u:{MARKERS['mongo_url_password']}@mongo.example:27017/rocketchat",
        "microservices": {"enabled": True, "ddpStreamers": {"replicas": 2}},
        "host": "chat.example.com",
    },
    # a credential URL where the chart's own `fail` message quotes it (helm's stderr)
    "secrets-helm-error.yaml": {
        "microservices": {"enabled": True},
        "image": {"tag": f"nats://natsuser:{MARKERS['helm_error_password']}@nats:4222"},
        "mongodb": {"enabled": True, "auth": {"passwords": ["QMCMARK6pw"], "rootPassword": "QMCMARK7root"}},
    },
}


def _forms(secret: str) -> dict[str, str]:
    return {
        "verbatim": secret,
        "repr-escaped": repr(secret)[1:-1],
        "json-escaped": json.dumps(secret)[1:-1],
        "base64": base64.b64encode(secret.encode()).decode(),
        "html-escaped": html.escape(secret, quote=True),
        "url-encoded": urllib.parse.quote(secret, safe=""),
        "mermaid-escaped": secret.replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;"),
    }


def test_no_secret_reaches_any_output(tmp_path: Path) -> None:
    args = ["--helm", HELM3, "-rA", "-vv"]
    for name, data in VALUES.items():
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        args += ["--values", str(path)]
    outputs = report_paths(tmp_path)
    run = run_suite(*args, *report_args(outputs))

    assert run.returncode == 1 and "Traceback" not in run.output, run.explain()
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for label, path in outputs.items():
        assert path.exists(), f"no {label} output written:\n{run.explain()}"
        texts[label] = path.read_text(encoding="utf-8")
    # the planted values were really exercised: the rules and helm looked at them
    assert "secrets-helm-error.yaml" in texts["stdout"] and "helm template failed" in texts["stdout"]
    for masked in ("natsuser:***@nats:4222", "-----*** PRIVATE KEY-----"):  # quoted, and masked
        assert masked in texts["stdout"] and masked in texts["json"], (
            f"{masked!r} not shown:\n{run.explain()}"
        )
    # the HTML and Markdown drew the releases whose Ingress host is the key (masked there too)
    assert texts["html"].count('class="node col-path') >= 3 and "```mermaid" in texts["markdown"]
    assert "-----*** PRIVATE KEY-----" in html.unescape(texts["html"]), "the HTML should show the masked host"
    for label in ("html", "markdown"):  # every marker starts with QMCMARK: none may survive in any escaping
        assert "QMCMARK" not in texts[label], f"a planted marker reached the {label} report"

    leaks = [
        f"{what} ({form}) in {where}"
        for what, secret in {**MARKERS, "pem_body": PEM_BODY, "pem": PEM}.items()
        for form, text in _forms(secret).items()
        for where, output in texts.items()
        if text in output
    ]
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


def _leaks(markers: dict[str, str], texts: dict[str, str]) -> list[str]:
    return [
        f"{what} ({form}) in {where}"
        for what, secret in markers.items()
        for form, text in _forms(secret).items()
        for where, output in texts.items()
        if text in output
    ]


# -- an upgrade pair: the plan shows each changed field old -> new -----------------------------------
UPGRADE_MARKERS = {
    "from_password": "QMCUPMARK1frompw",
    "from_root_password": "QMCUPMARK2fromroot",
    "from_nats_url_password": "QMCUPMARK3fromnats",
    "from_annotation_password": "QMCUPMARK4fromanno",
    "to_password": "QMCUPMARK5topw",
    "to_root_password": "QMCUPMARK6toroot",
    "to_mongo_url_password": "QMCUPMARK7tomongo",
    "to_nats_url_password": "QMCUPMARK8tonats",
    "to_annotation_password": "QMCUPMARK9toanno",
}


def _upgrade_side(side: str, mongo_url: str = "") -> dict:
    """One side of the pair: every secret lands where the plan quotes a change (the Secret's data, the
    MongoDB URI, Ingress annotations) and changes between the sides."""
    return {
        "microservices": {"enabled": True},
        "mongodb": {
            "enabled": True,
            "auth": {
                "passwords": [UPGRADE_MARKERS[f"{side}_password"]],
                "rootPassword": UPGRADE_MARKERS[f"{side}_root_password"],
            },
        },
        "externalMongodbUrl": mongo_url,
        "host": "chat.example.com",
        "ingress": {
            "enabled": True,
            "ingressClassName": "nginx",
            "annotations": {
                "example.com/bus": f"nats://natsuser:{UPGRADE_MARKERS[f'{side}_nats_url_password']}@nats:4222",
                "example.com/db-password": UPGRADE_MARKERS[f"{side}_annotation_password"],
            },
            "tls": [{"secretName": "chat-tls", "hosts": ["chat.example.com"]}],
        },
    }


def test_no_secret_of_either_upgrade_side_reaches_the_reports(tmp_path: Path) -> None:
    """An upgrade that changes the MongoDB passwords, adds a MongoDB URI with a password and changes
    credentials in Ingress annotations: the plan table (old -> new) masks both sides, in every output."""
    sides = {
        "from": _upgrade_side("from"),
        "to": _upgrade_side(
            "to", f"mongodb://u:{UPGRADE_MARKERS['to_mongo_url_password']}@mongo.example:27017/rocketchat"
        ),
    }
    paths = {}
    for side, data in sides.items():
        paths[side] = tmp_path / f"upgrade-{side}.yaml"
        paths[side].write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    outputs = report_paths(tmp_path)
    run = run_suite(
        "suites/upgrade",
        "--helm",
        HELM3,
        "-rA",
        "-vv",
        "--values",
        str(paths["to"]),
        "--upgrade-from",
        str(paths["from"]),
        "--upgrade-to",
        str(paths["to"]),
        *report_args(outputs),
    )
    assert run.returncode in (0, 1) and "Traceback" not in run.output, run.explain()
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for label, path in outputs.items():
        assert path.exists(), f"no {label} output written:\n{run.explain()}"
        texts[label] = path.read_text(encoding="utf-8")
    # the planted values were really exercised: the plan changed the fields that hold them, masked
    upgrades = json.loads(texts["json"])["upgrades"]
    assert upgrades and upgrades[0]["plan"], f"no upgrade plan:\n{run.explain()}"
    changes = [c for item in upgrades[0]["plan"]["changed"] for c in item.get("changes") or []]
    shown = {c["path"]: (c["old"], c["new"]) for c in changes}
    annotation = next((v for p, v in shown.items() if "db-password" in p), None)
    assert annotation == ('"***"', '"***"'), f"the annotation's change should show masked: {shown}"
    bus = next((v for p, v in shown.items() if "example.com/bus" in p), None)
    assert bus and all("natsuser:***@nats:4222" in v for v in bus), f"the bus URL change: {shown}"
    assert any(old.startswith("*** (before") for old, _ in shown.values()), f"no Secret data change: {shown}"
    assert "field changes" in texts["html"] and "→" in texts["markdown"], "the plan table was not drawn"
    for label in ("html", "markdown"):
        assert "QMCUPMARK" not in texts[label], f"a planted marker reached the {label} report"
    leaks = _leaks(UPGRADE_MARKERS, texts)
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


# -- a live case: its log, rollout error, findings and diagnostics, redacted as the live lane does ----
LIVE_MARKERS = {
    "password": "QMCLIVEMARK1pw",
    "root_password": "QMCLIVEMARK2root",
    "mongo_url_password": "QMCLIVEMARK3mongo",
    "generated": "QMCLIVEMARK4generated",  # only in a cluster Secret, read after a log line quoted it
}


class _FakeKube:
    """What diagnostics.collect reads: an event quoting a password, a pod that is not Ready whose
    environment holds the MongoDB URI and whose last state quotes the generated password."""

    def list_kinds(self, kinds: tuple[str, ...], namespace: str, timeout: float = 0) -> list[dict]:
        mongo = f"mongodb://u:{LIVE_MARKERS['mongo_url_password']}@mongo.example:27017/rocketchat"
        if kinds == ("Event",):
            return [
                {
                    "type": "Warning",
                    "reason": "BackOff",
                    "message": f"auth failed for rocketchat/{LIVE_MARKERS['password']}",
                    "involvedObject": {"kind": "Pod", "name": "rocketchat-rocketchat-0"},
                    "lastTimestamp": "2026-01-01T00:00:00Z",
                }
            ]
        if kinds == ("Pod",):
            return [
                {
                    "metadata": {"name": "rocketchat-rocketchat-0"},
                    "spec": {
                        "containers": [
                            {
                                "name": "rocketchat",
                                "image": "quickmeet.chat:7.8.0",
                                "env": [
                                    {"name": "MONGO_URL", "value": mongo},
                                    {"name": "MONGO_PASSWORD", "value": LIVE_MARKERS["root_password"]},
                                ],
                            }
                        ]
                    },
                    "status": {
                        "phase": "Running",
                        "containerStatuses": [
                            {
                                "name": "rocketchat",
                                "ready": False,
                                "restartCount": 3,
                                "lastState": {
                                    "terminated": {
                                        "reason": "Error",
                                        "exitCode": 1,
                                        "message": f"admin password {LIVE_MARKERS['generated']} rejected",
                                    }
                                },
                            }
                        ],
                    },
                }
            ]
        return []


class _FakeCluster:
    kube = _FakeKube()


class _FakeState:
    def __init__(self, secrets: list[dict]) -> None:
        self.secrets = secrets

    def of(self, kind: str) -> list[dict]:
        return self.secrets if kind == "Secret" else []


def _live_case(tmp_path: Path) -> dict:
    """A failed live case built through the live lane's own redaction: the case log redacts each line as it
    is said, the cluster's Secrets join the redactor afterwards, and ``LiveLane.finish`` collects the
    diagnostics and redacts the log and rollout error again with everything learned."""
    from quickmeet_conformance.charts import load_chart
    from quickmeet_conformance.findings import Finding, Severity, Verdict
    from quickmeet_conformance.helm import resolve_helm
    from quickmeet_conformance.live.case import CaseLog, LiveCaseResult
    from quickmeet_conformance.live.scenario import LiveLane
    from quickmeet_conformance.live.state import LiveView, PodTimeline
    from quickmeet_conformance.redact import redactor_for
    from quickmeet_conformance.reports.live import live_case_dict
    from quickmeet_conformance.rules.engine import Options, redact_finding, rules_for_lane
    from quickmeet_conformance.topology import ComponentMatcher

    chart = load_chart(
        str(REPO / "fixtures/charts/rocketchat"),
        version=None,
        helm_path=resolve_helm(HELM3).path,
        workdir=tmp_path,
    )
    mongo = f"mongodb://u:{LIVE_MARKERS['mongo_url_password']}@mongo.example:27017/rocketchat"
    values = {
        "mongodb": {
            "enabled": True,
            "auth": {"passwords": [LIVE_MARKERS["password"]], "rootPassword": LIVE_MARKERS["root_password"]},
        },
        "externalMongodbUrl": mongo,
    }
    rules_for_lane("live")  # registers the live rules the report model describes
    redactor = redactor_for(values, public_values=chart.defaults)
    log = CaseLog("secrets", redactor)
    log.say(f"install: helm upgrade --install failed: mongodb.auth.passwords[0] {LIVE_MARKERS['password']}")
    log.say(f"install: MONGO_URL {mongo} unreachable")
    log.say(f"install rollout: admin password {LIVE_MARKERS['generated']} rejected")  # not known yet
    generated = base64.b64encode(LIVE_MARKERS["generated"].encode()).decode()
    LiveLane.add_cluster_secrets(
        redactor,
        _FakeState([{"metadata": {"name": "rocketchat-rocketchat"}, "data": {"admin-password": generated}}]),
    )
    points = ((0.0, 1, "WATCHING", ""), (1.8, 2, "ADDED", "rocketchat-stream-hub-new"))
    hub = PodTimeline(
        "stream-hub", 2, ("old", "new"), ("+1.80s ADDED new (2 exist)",), True, "upgrade", points
    )
    view = LiveView(
        "rocketchat",
        "qmc-secrets",
        None,
        None,
        None,
        rollout_error=f"rollout failed: root password {LIVE_MARKERS['root_password']} rejected",
        hub=hub,
    )
    finding = Finding(
        "live.workloads-available",
        Verdict.FAIL,
        f"the release did not become ready: {mongo}",
        Severity.ERROR,
        expected="every pod Ready",
        found=f"MONGO_PASSWORD={LIVE_MARKERS['root_password']}",
        evidence=(("log", f"password {LIVE_MARKERS['password']}"),),
    )
    result = LiveCaseResult(
        "secrets@helm3",
        "secrets.yaml with rocketchat 2.0.0 (helm3)",
        "rocketchat",
        "qmc-secrets",
        view,
        {"live.workloads-available": [redact_finding(finding, redactor.text)]},
        redactor,
        log.lines,
        log_times=log.times,
    )
    lane = LiveLane(
        _FakeCluster(),  # only its kube is read (diagnostics)
        release="rocketchat",
        options=Options(),
        matcher=ComponentMatcher(),
        workdir=tmp_path,
    )
    return live_case_dict(lane.finish(result))


def test_no_secret_of_a_live_case_reaches_the_reports(tmp_path: Path) -> None:
    """A live case's log, rollout error, findings and diagnostics (events, pod environment, container
    states) carry the values' passwords, a MongoDB URI and a password the cluster generated: none reaches
    the HTML or the Markdown, in any form."""
    from quickmeet_conformance.reports.html import html_report
    from quickmeet_conformance.reports.markdown import markdown_report

    record = _live_case(tmp_path)
    # the planted secrets were exercised: each part of the record quoted one, masked
    assert "***" in record["rollout_error"] and all("***" in line for line in record["log"]), record["log"]
    assert "--- describe pod/rocketchat-rocketchat-0 ---" in record["diagnostics"], record["diagnostics"]
    assert "MONGO_URL=mongodb://u:***@mongo.example" in record["diagnostics"], record["diagnostics"]
    report = {
        "tool": "quickmeet-conformance",
        "version": "test",
        "cases": [],
        "upgrades": [],
        "live": {"cluster": {"provider": "kwok", "kube_version": "v1.37.2"}, "cases": [record]},
    }
    texts = {
        "record": json.dumps(record),
        "html": html_report(report),
        "markdown": markdown_report(report),
    }
    assert "rocketchat-rocketchat-0" in texts["html"] and "Rollout timeline" in texts["html"]
    for label in ("html", "markdown"):
        assert "QMCLIVEMARK" not in texts[label], f"a planted marker reached the {label} report"
    leaks = _leaks(LIVE_MARKERS, texts)
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
