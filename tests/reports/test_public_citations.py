"""User-facing citations point at public documents (issue 22): every rule has a ``doc`` URL (the chart's README
or values, the Rocket.Chat, Kubernetes, Helm, MongoDB, NATS or controller docs), the reports cite it, and
the CONTRACT.md section (a file the wheel does not ship) is kept only where asked for: ``conformance explain
--verbose`` and a separate ``contract`` property in the JSON and SARIF."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

from quickmeet_conformance.cli import main
from quickmeet_conformance.rules import load_all
from quickmeet_conformance.rules.citations import DEFAULT_DOC, DOCS, public_doc
from quickmeet_conformance.rules.engine import RULES

REPO = Path(__file__).resolve().parents[2]
HELM3 = str(REPO / ".tools" / "bin" / "helm3")
PUBLIC_HOSTS = {
    "github.com",
    "docs.rocket.chat",
    "kubernetes.io",
    "helm.sh",
    "www.mongodb.com",
    "docs.nats.io",
}
# microservices on without an Ingress: ingress.required fails (besides the hygiene warnings)
BAD = "microservices:\n  enabled: true\nreplicaCount: 2\n"


def test_every_rule_cites_a_public_document() -> None:
    load_all()
    for rule_obj in RULES.values():
        uri = urlparse(rule_obj.doc)
        assert uri.scheme == "https" and uri.netloc in PUBLIC_HOSTS, (rule_obj.id, rule_obj.doc)
        assert "CONTRACT.md" not in rule_obj.doc
    topics = {r.id.split(".", 1)[0] for r in RULES.values()}
    assert topics <= set(DOCS), f"topics without their own document: {topics - set(DOCS)}"
    assert all(key in RULES or key in topics for key in DOCS), "citations for rules that do not exist"
    assert public_doc("brand-new.rule") == DEFAULT_DOC


def _check(tmp_path: Path, fmt: str) -> str:
    values = tmp_path / "bad.yaml"
    values.write_text(BAD, encoding="utf-8")
    target = tmp_path / f"out.{fmt}"
    out = io.StringIO()
    code = main(["check", str(values), "--helm", HELM3, "--format", fmt, "-o", str(target)], out=out)
    assert code == 1, out.getvalue()
    return target.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["text", "markdown", "junit", "html"])
def test_reports_cite_the_public_document_not_contract_md(fmt: str, tmp_path: Path) -> None:
    text = _check(tmp_path, fmt)
    assert "CONTRACT.md" not in text, f"the {fmt} report cites CONTRACT.md"
    assert RULES["ingress.required"].doc in text, f"the {fmt} report does not cite ingress.required's docs"


def test_json_and_sarif_keep_the_contract_only_as_a_separate_property(tmp_path: Path) -> None:
    report = json.loads(_check(tmp_path, "json"))
    for case in report["cases"]:
        for rule in case["rules"]:
            assert rule["doc"] == RULES[rule["id"]].doc and rule["contract"] == RULES[rule["id"]].contract
            rest = {k: v for k, v in rule.items() if k != "contract"}
            assert "CONTRACT.md" not in json.dumps(rest), rule["id"]
    sarif = json.loads(_check(tmp_path, "sarif"))
    for run in sarif["runs"]:
        for descriptor in run["tool"]["driver"]["rules"]:
            assert descriptor["helpUri"] == RULES[descriptor["id"]].doc
            shown = {k: v for k, v in descriptor.items() if k != "properties"}
            assert "CONTRACT.md" not in json.dumps(shown), descriptor["id"]
        assert "CONTRACT.md" not in json.dumps(run["results"])
