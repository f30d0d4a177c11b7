"""The contract citations of the hygiene rules (rules/hygiene.py) quote CONTRACT.md honestly: a quoted line is
in ../shared/CONTRACT.md word for word, a cited section exists, and a rule the contract does not state says so
(issue 14: two citations quoted lines that CONTRACT.md does not have)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quickmeet_conformance.rules import load_all
from quickmeet_conformance.rules.engine import RULES, Rule

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO.parent / "shared" / "CONTRACT.md"
NOT_CONTRACT = "(not a CONTRACT.md line)"


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


def _contract() -> str:
    if not CONTRACT.is_file():
        pytest.skip(f"CONTRACT.md not found at {CONTRACT} (expected ../shared beside the repository)")
    return CONTRACT.read_text(encoding="utf-8")


def _hygiene_rules() -> list[Rule]:
    load_all()
    return [r for r in RULES.values() if r.check.__module__.endswith(".rules.hygiene")]


def _contract_quotes(citation: str) -> list[str]:
    """The double-quoted fragments a citation attributes to CONTRACT.md (not those marked NOT_CONTRACT)."""
    return [
        m.group(1)
        for m in re.finditer(r'"([^"]+)"', citation)
        if not citation[m.end() :].lstrip().startswith(NOT_CONTRACT)
    ]


@pytest.mark.parametrize("rule_id", sorted(r.id for r in _hygiene_rules()))
def test_hygiene_citation_quotes_the_contract_word_for_word(rule_id: str) -> None:
    contract = _contract()
    citation = RULES[rule_id].contract
    text = _plain(contract)
    for quote in _contract_quotes(citation):
        assert _plain(quote) in text, (
            f"{rule_id} quotes {quote!r}, which CONTRACT.md does not say: {citation}"
        )
    sections = [line[3:].split(" (")[0].strip() for line in contract.splitlines() if line.startswith("## ")]
    for cited in citation.split("CONTRACT.md > ")[1:]:
        assert any(cited.startswith(section) for section in sections), (
            f"{rule_id} cites a section CONTRACT.md lacks: {cited[:40]!r} (sections: {sections})"
        )


@pytest.mark.parametrize("rule_id", ["hygiene.plain-env-credentials", "hygiene.resources"])
def test_issue_14_citations_quote_a_real_line(rule_id: str) -> None:
    """Both used to cite lines CONTRACT.md lacks ('resources per component', 'secrets ... never appear in any
    output'); each now quotes the real line that applies."""
    contract = _plain(_contract())
    load_all()
    citation = RULES[rule_id].contract
    quotes = _contract_quotes(citation)
    assert quotes and all(_plain(q) in contract for q in quotes), citation
    assert "resources per component" not in citation and "never appear in any output" not in citation, (
        citation
    )


def test_resources_citation_says_the_contract_does_not_state_it() -> None:
    assert "resources" not in _contract(), "CONTRACT.md now states resources: cite that line instead"
    load_all()
    assert RULES["hygiene.resources"].contract.startswith("not stated in CONTRACT.md"), RULES[
        "hygiene.resources"
    ].contract


def test_plain_env_citation_marks_the_guide_rule_as_not_the_contract() -> None:
    load_all()
    citation = RULES["hygiene.plain-env-credentials"].contract
    assert f'"secrets never printed" {NOT_CONTRACT}' in citation, citation
