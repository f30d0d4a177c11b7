"""The terminal summary: one compact table per values file (rule, verdict, one-line reason)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from ..findings import Finding, Waiver, status_of
from ..pipeline import CaseResult
from ..rules.engine import RULES
from .remedies import remedy_lines
from .remedies import summary_lines as run_summary_lines

_MARK = {
    "pass": "PASS",
    "fail": "FAIL",
    "warn": "WARN",
    "accepted": "ACCEPTED",
    "skip": "SKIP",
    "error": "ERROR",
}
_COLOUR = {
    "PASS": "green",
    "FAIL": "red",
    "ERROR": "red",
    "WARN": "yellow",
    "ACCEPTED": "cyan",
    "SKIP": "cyan",
}


def _status(result: CaseResult, rule_id: str, strict: bool) -> tuple[str, str]:
    findings = result.findings[rule_id]
    verdict = status_of(findings, strict=strict).value
    failed = [f for f in findings if f.failed]
    if verdict in ("fail", "warn", "accepted", "error"):
        reason = _flat(failed[0].one_line()) + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else "")
    elif verdict == "skip":
        reason = _flat(findings[0].message)
    else:
        reason = RULES[rule_id].title
    return _MARK[verdict], reason


def _flat(text: str) -> str:
    """One table row per line, whatever a value holds (a PEM, a multi-line host)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _detail(result: CaseResult, rule_id: str) -> list[str]:
    """Every failed finding of the rule: its line, then expected / found / evidence indented."""
    lines: list[str] = []
    for finding in result.findings[rule_id]:
        if finding.failed:
            lines.append(f"- {_flat(finding.one_line())}")
            fields = [("expected", finding.expected), ("found", finding.found), *finding.evidence]
            lines.extend(f"  {name + ':':<9} {_flat(value)}" for name, value in fields if value)
            lines.extend(f"  {line}" for line in remedy_lines(finding, brief=True))
    return lines


def summary_lines(
    results: list[CaseResult],
    *,
    strict: bool,
    failures_only: bool,
    width: int = 160,
) -> list[tuple[str, str | None]]:
    """(text, colour) lines; cases of the same values file whose verdicts agree across helm majors merge."""
    groups: OrderedDict[tuple, list[CaseResult]] = OrderedDict()
    for result in results:
        rows = (result.input_error,) + tuple((rid,) + _status(result, rid, strict) for rid in result.findings)
        groups.setdefault((result.case.values_path, result.case.chart.label, rows), []).append(result)
    lines: list[tuple[str, str | None]] = []
    for (values_path, chart_label, rows), members in groups.items():
        helms = ", ".join(r.case.renderer.helm.label for r in members)
        lines.append((f"{values_path}  [{chart_label}; {helms}]", None))
        if rows[0] is not None:
            lines.append((f"  ERROR  {rows[0]}", "red"))
            continue
        shown = 0
        for rule_id, mark, reason in rows[1:]:
            if failures_only and mark in ("PASS", "SKIP"):
                continue
            shown += 1
            text = f"  {mark:<5}  {rule_id:<34} {reason}"
            lines.append((text[:width], _COLOUR[mark]))
            if failures_only:  # -q: no table of passes, so each failure carries its detail
                lines.extend((f"         {ln}"[:width], None) for ln in _detail(members[0], rule_id))
        if failures_only and not shown:
            lines.append(("  all rules pass", "green"))
    return lines


def write_summary(
    write_line: Callable[..., None],
    results: list[CaseResult],
    *,
    strict: bool,
    failures_only: bool,
    waivers: Sequence[Waiver] = (),
    others: Sequence[Finding] = (),
) -> None:
    """The run's table and verdict lines; ``others``: findings of lanes without cases (the probes), counted
    with the cases' in the fixer split and the waivers' effect (a waiver a probe finding used is not unmatched)."""
    found = [f for r in results for fs in r.findings.values() for f in fs] + list(others)
    verdicts = [(line, None) for line in run_summary_lines(found, waivers)]
    for text, colour in summary_lines(results, strict=strict, failures_only=failures_only) + verdicts:
        if colour:
            write_line(text, **{colour: True})
        elif text.startswith(" "):
            write_line(text)
        else:
            write_line(text, bold=True)
