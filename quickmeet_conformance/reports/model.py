"""The report model shared by every output format: case results as plain, already-redacted data."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .. import __version__
from ..findings import Finding, Verdict, Waiver, status_of, verdict_of
from ..pipeline import CaseResult
from ..rules.engine import RULES
from .graph import build_graph, graph_dict


def finding_dict(finding: Finding) -> dict[str, Any]:
    """Field by field (``dataclasses.asdict`` deep-copies and cost the reports a third of their budget)."""
    loc = finding.location
    return {
        "rule_id": finding.rule_id,
        "verdict": finding.verdict.value,
        "message": finding.message,
        "severity": finding.severity.value,
        "expected": finding.expected,
        "found": finding.found,
        "resource": finding.resource,
        "field_path": finding.field_path,
        "location": {
            "file": loc.file,
            "key_path": loc.key_path,
            "line": loc.line,
            "column": loc.column,
            "parent": loc.parent,  # not None: the key is absent, line/column are where to add it
        }
        if loc is not None
        else None,
        "evidence": [list(item) for item in finding.evidence],
        "fixed_by": finding.fixed_by.as_dict() if finding.failed else None,
        "waiver": waiver_dict(finding.waiver) if finding.waiver is not None else None,
    }


def waiver_dict(waiver: Waiver) -> dict[str, Any]:
    return {
        "rule": waiver.rule,
        "target": waiver.target,
        "reason": waiver.reason,
        "expires": waiver.expires.isoformat(),
        "expired": waiver.expired,
        "source": waiver.source,
    }


def _findings_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every finding dict anywhere in the model (cases and each lane's section alike)."""
    if isinstance(node, dict):
        if "rule_id" in node and "verdict" in node and "fixed_by" in node:
            yield node
        for value in node.values():
            yield from _findings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _findings_in(value)


def verdict_summary(report: dict[str, Any], waivers: Sequence[Waiver] = ()) -> dict[str, Any]:
    """Who can fix the run's failed findings (values or chart, counted apart), and what the waivers did:
    accepted findings, expired waivers (they fail), and waivers no finding matched."""
    fixers = {"values": 0, "chart": 0}
    accepted = expired = 0
    used: set[str] = set()
    for f in _findings_in({k: v for k, v in report.items() if k != "verdicts"}):
        if f["fixed_by"] is not None:
            fixers[f["fixed_by"]["kind"]] += 1
        if f["waiver"] is not None:
            used.add(f["waiver"]["source"])
            expired += f["waiver"]["expired"]
            accepted += not f["waiver"]["expired"]
    return {
        "fixed_by": fixers,
        "waivers": {
            "given": len(waivers),
            "accepted": accepted,
            "expired": expired,
            "unmatched": [waiver_dict(w) for w in waivers if w.source not in used],
        },
    }


def rules_dict(findings: dict[str, list[Finding]], *, strict: bool = False) -> list[dict[str, Any]]:
    """Each rule a case was judged by: its metadata, verdict, status in this run (``warn``: failed without
    blocking it), and the findings other than the plain pass, each with its own status in this run (a
    warning-severity finding of a rule that fails on an error one is still ``warn`` unless strict)."""
    rules = []
    for rule_id, found in findings.items():
        meta = RULES[rule_id]
        rules.append(
            {
                "id": rule_id,
                "title": meta.title,
                "severity": meta.severity.value,
                "doc": meta.doc,  # the public document a customer reads
                "contract": meta.contract,  # the project's CONTRACT.md section (explain --verbose)
                "basis": meta.basis,
                "fix": meta.fix,
                "verdict": verdict_of(found).value,
                "status": status_of(found, strict=strict).value,
                "findings": [
                    {**finding_dict(f), "status": status_of((f,), strict=strict).value}
                    for f in found
                    if f.verdict != Verdict.PASS or f.message != meta.title
                ],
            }
        )
    return rules


def case_dict(result: CaseResult, *, strict: bool = False) -> dict[str, Any]:
    case = result.case
    rules = rules_dict(result.findings, strict=strict)
    return {
        "id": case.id,
        "values_file": case.values_path,
        "chart": {
            "name": case.chart.name,
            "version": case.chart.version,
            "app_version": case.chart.app_version,
            "source": case.chart.spec,
        },
        "helm": {"path": case.renderer.helm.path, "version": case.renderer.helm.version},
        "kube_version": case.options.kube_version,
        "release": case.release,
        "namespace": case.namespace,
        "input_error": result.input_error,
        "rules": rules,
        "graph": graph_dict(
            build_graph(
                result.topology, result.findings, case.matcher, result.redactor.text, result.connections
            )
        )
        if result.topology is not None
        else None,
    }


def report_dict(
    results: list[CaseResult],
    extra_sections: dict[str, Any] | None = None,
    *,
    strict: bool = False,
    waivers: Sequence[Waiver] = (),
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "tool": "quickmeet-conformance",
        "version": __version__,
        "strict": strict,
        "cases": [case_dict(r, strict=strict) for r in results],
    }
    report.update(extra_sections or {})
    report["verdicts"] = verdict_summary(report, waivers)
    return report
