"""Findings: the one data type that rules produce and reports consume.

A finding is data, not a string: rule id, verdict, what was expected, what was found, the resource and
field path it concerns, and where in the values file the fault sits (when it is the user's).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Verdict(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"  # the check could not run (bad input, unreachable endpoint)


@dataclass(frozen=True)
class Location:
    """Where a fault sits in a file: a values file key (line/column 1-based) or a chart template."""

    file: str
    key_path: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.key_path:
            where += f" ({self.key_path})"
        return where


@dataclass(frozen=True)
class Finding:
    rule_id: str
    verdict: Verdict
    message: str
    severity: Severity = Severity.ERROR
    expected: str = ""
    found: str = ""
    resource: str = ""  # "Kind/name" (namespace omitted when it is the release's)
    field_path: str = ""
    location: Location | None = None
    evidence: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        return self.verdict in (Verdict.FAIL, Verdict.ERROR)

    def one_line(self) -> str:
        parts = [self.message]
        if self.resource:
            parts.append(f"[{self.resource}{'.' + self.field_path if self.field_path else ''}]")
        if self.location is not None:
            parts.append(f"at {self.location}")
        return " ".join(parts)

    def detail(self) -> str:
        lines = [self.one_line()]
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.found:
            lines.append(f"  found:    {self.found}")
        for key, value in self.evidence:
            lines.append(f"  {key}: {value}")
        return "\n".join(lines)


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    """One rule's verdict from its findings: any ERROR, else any FAIL, else SKIP when all skipped, else PASS."""
    found = list(findings)
    if any(f.verdict == Verdict.ERROR for f in found):
        return Verdict.ERROR
    if any(f.verdict == Verdict.FAIL for f in found):
        return Verdict.FAIL
    if found and all(f.verdict == Verdict.SKIP for f in found):
        return Verdict.SKIP
    return Verdict.PASS


class Status(str, enum.Enum):
    """How one rule's findings end up in a run: its verdict, with a failure that blocks nothing shown as WARN."""

    PASS = "pass"
    WARN = "warn"  # failed, but only warning-severity findings and the run is not strict
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def blocks(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


def blocks_run(finding: Finding, *, strict: bool) -> bool:
    """THE definition of "this finding fails the run": a check that could not run (verdict ERROR) or a
    failed error-severity rule always; a failed warning-severity rule only when the run is strict."""
    return finding.failed and (
        strict or finding.severity == Severity.ERROR or finding.verdict == Verdict.ERROR
    )


def blocking(findings: Iterable[Finding], *, strict: bool) -> list[Finding]:
    return [f for f in findings if blocks_run(f, strict=strict)]


def status_of(findings: Iterable[Finding], *, strict: bool) -> Status:
    """One rule's status in a run (every lane, summary and report asks this, never the severities itself)."""
    found = list(findings)
    verdict = verdict_of(found)
    if verdict == Verdict.FAIL and not blocking(found, strict=strict):
        return Status.WARN
    return Status(verdict.value)


def passed(rule_id: str, message: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.PASS, message=message, severity=severity)


def skipped(rule_id: str, reason: str) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.SKIP, message=reason, severity=Severity.INFO)
