"""``conformance check``'s text report: per case, what fails first, each finding once with where and how to fix.

    my-values.yaml  (rocketchat 2.0.0, helm3)
      FAIL  values.ignored-keys  microservices.ddpStreamers is read by no template ...; did you mean 'ddpStreamer'?
            at my-values.yaml:3:3 (microservices.ddpStreamers)
            expected: a key that rocketchat-2.0.0 reads | found: ddpStreamers
            fix: rename the key to the one the chart reads (see 'did you mean'), or delete it
      WARN  hygiene.resources ...
      2 rules fail, 3 warn, 22 pass, 1 skipped

Findings arrive redacted; a warning fails only with ``strict``.
"""

from __future__ import annotations

from ..findings import Finding, status_of
from ..rules.engine import RULES

_ORDER = {"FAIL": 0, "ERROR": 0, "WARN": 1, "SKIP": 2, "PASS": 3}


def _mark(findings: list[Finding], strict: bool) -> str:
    return status_of(findings, strict=strict).value.upper()


def _flat(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _finding_lines(finding: Finding) -> list[str]:
    text = finding.message
    if finding.resource:
        text += f" [{finding.resource}{'.' + finding.field_path if finding.field_path else ''}]"
    lines = [_flat(text)]
    if finding.location is not None:
        lines.append(f"at {finding.location}")
    seen = " | ".join(
        f"{name}: {_flat(value)}"
        for name, value in (("expected", finding.expected), ("found", finding.found))
        if value
    )
    if seen:
        lines.append(seen)
    return lines


def case_lines(
    title: str, findings: dict[str, list[Finding]], input_error: str | None, *, strict: bool, verbose: bool
) -> list[str]:
    """The report of one case (a values file or an upgrade pair through one helm binary)."""
    lines = [title]
    if input_error is not None:
        return lines + [f"  ERROR  {input_error}"]
    marks = {rule_id: _mark(found, strict) for rule_id, found in findings.items()}
    for rule_id in sorted(findings, key=lambda r: _ORDER[marks[r]]):
        mark = marks[rule_id]
        if mark in ("PASS", "SKIP") and not verbose:
            continue
        failed = [f for f in findings[rule_id] if f.failed]
        if not failed:
            reason = findings[rule_id][0].message if mark == "SKIP" else RULES[rule_id].title
            lines.append(f"  {mark:<5}  {rule_id}  {_flat(reason)}")
            continue
        for index, finding in enumerate(failed):
            first, *rest = _finding_lines(finding)
            lines.append(f"  {mark if index == 0 else '':<5}  {rule_id}  {first}")
            lines.extend(f"         {line}" for line in rest)
        lines.append(f"         fix: {RULES[rule_id].fix}")
    counts: dict[str, int] = {}
    for mark in marks.values():
        counts[mark] = counts.get(mark, 0) + 1
    tally = ", ".join(
        f"{counts[m]} {word}"
        for m, word in (
            ("FAIL", "fail"),
            ("ERROR", "could not be evaluated"),
            ("WARN", "warn"),
            ("PASS", "pass"),
            ("SKIP", "skipped"),
        )
        if counts.get(m)
    )
    lines.append(f"  rules: {tally}")
    return lines
