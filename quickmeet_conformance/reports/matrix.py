"""What the HTML and Markdown reports share: the rules x values files x helm matrix and the anchors of
findings, both read from the report model (``report_dict`` plus the lanes' sections), never from rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..findings import Finding, Severity, Verdict, status_of

# Display marks: a failed warning-severity rule shows as WARN (it fails the run only with --strict).
MARKS = {
    "pass": "PASS",
    "fail": "FAIL",
    "warn": "WARN",
    "accepted": "ACCEPTED",  # failed, accepted by a waiver in force (--waivers)
    "skip": "SKIP",
    "error": "ERROR",
    "none": "-",
}


_NOT_ANCHOR = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def _slug(part: str) -> str:
    return _NOT_ANCHOR.sub("-", part.lower()).strip("-")


def anchor(*parts: str) -> str:
    """A stable HTML id / Markdown anchor from ids such as ``seed-docs@helm3`` and ``ingress.class``."""
    return "-".join(_slug(p) for p in parts)


def failed_findings(rule: dict[str, Any]) -> list[dict[str, Any]]:
    """A rule's failed findings in the order the graph's ``FindingRef.index`` counts them."""
    return [f for f in rule["findings"] if f["verdict"] in ("fail", "error")]


def _findings_of(rule: dict[str, Any]) -> list[Finding]:
    """A rule's findings back from the model, as much of them as a status needs (verdict and severity)."""
    return [
        Finding(rule["id"], Verdict(f["verdict"]), str(f["message"]), severity=Severity(f["severity"]))
        for f in rule["findings"]
    ]


def shown_verdict(rule: dict[str, Any], *, strict: bool = False) -> str:
    """The rule's status in the run: the report model's ``status`` (WARN is a failure that blocks nothing);
    for a model without one (a report written before statuses were recorded), ``status_of`` of its findings
    under the run's ``strict``, never a judgement of the severities here."""
    if rule.get("status"):
        return str(rule["status"])
    found = _findings_of(rule)
    return status_of(found, strict=strict).value if found else str(rule["verdict"])


def shown_finding(finding: dict[str, Any], rule_id: str, *, strict: bool = False) -> str:
    """One finding's status in the run: the model's, else what ``status_of`` makes of it alone."""
    if finding.get("status"):
        return str(finding["status"])
    return shown_verdict({"id": rule_id, "verdict": finding["verdict"], "findings": [finding]}, strict=strict)


def finding_anchor(case_id: str, rule_id: str, index: int) -> str:
    return anchor("f", case_id, rule_id, str(index))


def rule_anchor(case_id: str, rule_id: str) -> str:
    return anchor("r", case_id, rule_id)


def case_anchor(case_id: str) -> str:
    return anchor("case", case_id)


def where(finding: dict[str, Any]) -> str:
    """``values.yaml:12:3 (ingress.enabled)`` or the chart template, from the finding's location."""
    loc = finding.get("location") or {}
    if not loc:
        return ""
    text = str(loc.get("file", ""))
    if loc.get("line") is not None:
        text += f":{loc['line']}" + (f":{loc['column']}" if loc.get("column") is not None else "")
    if loc.get("key_path"):
        text += f" ({loc['key_path']})"
    return text


@dataclass(frozen=True)
class Cell:
    case_id: str
    rule_id: str
    verdict: str  # key of MARKS
    href: str  # the first failed finding, else the rule in the case's section
    title: str  # one line for a tooltip


@dataclass(frozen=True)
class Matrix:
    values_files: tuple[str, ...]
    helms: tuple[str, ...]
    rules: tuple[str, ...]
    cells: dict[tuple[str, str, str], Cell]  # (rule id, values file, helm) -> cell

    def cell(self, rule_id: str, values_file: str, helm: str) -> Cell | None:
        return self.cells.get((rule_id, values_file, helm))


def helm_label(case: dict[str, Any]) -> str:
    return str(case["id"]).rsplit("@", 1)[-1]


def verdict_matrix(cases: list[dict[str, Any]], *, strict: bool = False) -> Matrix:
    values_files: list[str] = []
    helms: list[str] = []
    rules: list[str] = []
    cells: dict[tuple[str, str, str], Cell] = {}
    for case in cases:
        values, helm = str(case["values_file"]), helm_label(case)
        values_files += [values] if values not in values_files else []
        helms += [helm] if helm not in helms else []
        for rule in case["rules"]:
            rules += [rule["id"]] if rule["id"] not in rules else []
            verdict = shown_verdict(rule, strict=strict)
            failed = failed_findings(rule)
            if failed:
                href, title = finding_anchor(case["id"], rule["id"], 0), str(failed[0]["message"])
            else:
                href = rule_anchor(case["id"], rule["id"])
                title = str(rule["findings"][0]["message"]) if rule["findings"] else str(rule["title"])
            cells[(rule["id"], values, helm)] = Cell(case["id"], rule["id"], verdict, href, title)
    for case in cases:  # a values file that could not be read: every rule is an error, pointing at the reason
        if case.get("input_error"):
            for rule_id in rules:
                cells[(rule_id, str(case["values_file"]), helm_label(case))] = Cell(
                    case["id"], rule_id, "error", case_anchor(case["id"]), str(case["input_error"])
                )
    return Matrix(tuple(values_files), tuple(helms), tuple(rules), cells)


def case_verdict(case: dict[str, Any], *, strict: bool = False) -> str:
    """One word for a whole case: error (unreadable input), fail, warn or pass."""
    if case.get("input_error"):
        return "error"
    shown = {shown_verdict(r, strict=strict) for r in case["rules"]}
    for verdict in ("error", "fail", "warn"):
        if verdict in shown:
            return verdict
    return "pass"
