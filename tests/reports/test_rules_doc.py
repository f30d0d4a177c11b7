"""docs/rules.md is generated from the rule registry: up to date, one anchor per rule id (SARIF's helpUri)."""

from __future__ import annotations

import re
from pathlib import Path

from quickmeet_conformance.reports.rules_doc import all_rules, rules_doc_uri, rules_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_rules_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == rules_markdown(), (
        "docs/rules.md is out of date: run python -m quickmeet_conformance.reports.rules_doc docs/rules.md"
    )


def test_every_rule_id_has_exactly_one_anchor() -> None:
    anchors = re.findall(r'<a id="([^"]+)"></a>', DOC.read_text(encoding="utf-8"))
    ids = [r.id for r in all_rules()]
    assert sorted(anchors) == sorted(ids), (
        f"anchors without rules or rules without anchors: {set(anchors) ^ set(ids)}"
    )


def test_help_uri_opens_the_doc() -> None:
    """In a checkout the helpUri opens docs/rules.md itself (an installed package ships a copy: setup.py)."""
    uri = rules_doc_uri("ingress.websocket-to-ddp-streamer")
    assert uri == f"{DOC.as_uri()}#ingress.websocket-to-ddp-streamer", uri
