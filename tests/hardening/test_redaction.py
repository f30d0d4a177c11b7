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
from suite_runner import HELM3, run_suite

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
    outputs = {
        "junit": tmp_path / "junit.xml",
        "json": tmp_path / "report.json",
        "sarif": tmp_path / "out.sarif",
        "html": tmp_path / "report.html",
        "markdown": tmp_path / "report.md",
    }
    args += [
        "--junitxml",
        str(outputs["junit"]),
        "--conformance-report",
        str(outputs["json"]),
        "--sarif",
        str(outputs["sarif"]),
        "--html",
        str(outputs["html"]),
        "--markdown",
        str(outputs["markdown"]),
    ]
    run = run_suite(*args)

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
