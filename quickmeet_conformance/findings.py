"""Findings: the one data type that rules produce and reports consume.

A finding is data, not a string: rule id, verdict, what was expected, what was found, the resource and
field path it concerns, and where in the values file the fault sits (when it is the user's).
"""

from __future__ import annotations

import enum
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


def verdict_of(findings: list[Finding]) -> Verdict:
    """One rule's verdict from its findings: any ERROR, else any FAIL, else SKIP when all skipped, else PASS."""
    if any(f.verdict == Verdict.ERROR for f in findings):
        return Verdict.ERROR
    if any(f.verdict == Verdict.FAIL for f in findings):
        return Verdict.FAIL
    if findings and all(f.verdict == Verdict.SKIP for f in findings):
        return Verdict.SKIP
    return Verdict.PASS


def passed(rule_id: str, message: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.PASS, message=message, severity=severity)


def skipped(rule_id: str, reason: str) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.SKIP, message=reason, severity=Severity.INFO)
