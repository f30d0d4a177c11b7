"""Findings: the one data type that rules produce and reports consume.

A finding is data, not a string: rule id, verdict, what was expected, what was found, the resource and
field path it concerns, and where in the values file the fault sits (when it is the user's). It also says
who can fix it (:class:`Remedy`: a values key, or the chart's template when no key changes it) and, when a
waiver file accepts it for now, the :class:`Waiver` (``blocks_run`` and ``status_of`` read both).
"""

from __future__ import annotations

import datetime
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
    """Where a fault sits in a file: a values file key (line/column 1-based) or a chart template.

    A key the values file does not contain has no line of its own: ``parent`` is then the nearest ancestor
    the file does set ("" for none: the key goes at the top level), and ``line``/``column`` are that
    ancestor's, which is where the user adds the key. ``parent`` is None for a key that is in the file."""

    file: str
    key_path: str = ""
    line: int | None = None
    column: int | None = None
    parent: str | None = None

    @property
    def absent(self) -> bool:
        """The key path is not in the values file (the location is where it would go)."""
        return self.parent is not None

    def placement(self) -> str:
        """Where the key is, or where to add it: ``file:line``, ``add it under P (file:line)`` or ``add it at
        the top level of file``."""
        at = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.parent is None:
            return at
        if self.parent and self.line is not None:
            return f"add it under {self.parent} ({at})"
        return f"add it at the top level of {self.file}"

    def __str__(self) -> str:
        if self.absent:
            return f"{self.file}: {self.key_path} is not set; {self.placement()}"
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.key_path:
            where += f" ({self.key_path})"
        return where


class FixKind(str, enum.Enum):
    """Who can fix a finding: the user, through a values key, or the chart's maintainers (no key changes it)."""

    VALUES = "values"
    CHART = "chart"


@dataclass(frozen=True)
class Remedy:
    """Who fixes a finding, and how. A rule that knows sets it (a chart that hard-codes what it checks); every
    other finding gets one derived from its location (``Finding.fixed_by``): a values key -> ``values``, only
    a chart template -> ``chart``.

    ``hard_coded`` is the rule's word that the chart reads no values key for this (its text says so); a
    remedy derived from a template location only says the rule knows no key."""

    kind: FixKind
    key_path: str = ""  # values: the key to set; chart: the key whose setting works around the defect
    where: str = ""  # values: file:line of the key; when ``absent``, where to add it (Location.placement)
    template: str = ""  # chart: the template (path inside the chart, ":line" when known)
    fixed_in: str = ""  # chart: the chart version that fixes it, when one is known
    workaround: str = ""  # chart: what a user can do meanwhile (a post-renderer patch)
    hard_coded: bool = False
    absent: bool = False  # values: the file does not contain the key; ``where`` says where to add it

    def line(self) -> str:
        """One line: "values: set K (file:line)" or "chart: T:L hard-codes this; no values key changes it"."""
        if self.kind == FixKind.VALUES:
            if not self.key_path:
                return "values: change the values file (see fix)"
            if self.absent and self.where:
                return f"values: set {self.key_path}: {self.where}"
            return f"values: set {self.key_path}" + (f" ({self.where})" if self.where else "")
        what = self.template or "the chart's templates"
        if self.hard_coded and self.key_path:  # the defect is literal; a key only steers around it
            text = f"chart: {what} hard-codes this; no values key fixes it (setting {self.key_path} works around it)"
        elif self.hard_coded:
            text = f"chart: {what} hard-codes this; no values key changes it"
        else:
            text = f"chart: rendered by {what}; no values key is known to change it"
        return text + (f"; fixed in chart {self.fixed_in}" if self.fixed_in else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "key_path": self.key_path,
            "where": self.where,
            "template": self.template,
            "fixed_in": self.fixed_in,
            "workaround": self.workaround,
            "hard_coded": self.hard_coded,
            "absent": self.absent,
            "text": self.line(),
        }


@dataclass(frozen=True)
class Waiver:
    """One accepted finding from a waiver file: which rule, which target (a resource "Kind/name" or a values
    key path; ``*`` globs), why, and until when. ``expired`` is decided when the file is loaded (against the
    day of the run), so a run judges every finding against the same day."""

    rule: str
    target: str
    reason: str
    expires: datetime.date
    source: str  # "waivers.yaml entry 2 (line 5)": where the user finds it
    expired: bool = False

    def line(self) -> str:
        if self.expired:
            return f"expired on {self.expires.isoformat()}, so the finding counts again ({self.source}): {self.reason}"
        return f"accepted until {self.expires.isoformat()} ({self.source}): {self.reason}"


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
    remedy: Remedy | None = None  # set by a rule that knows who fixes it; else see ``fixed_by``
    waiver: Waiver | None = None  # set by ``waivers.apply`` on a failed finding a waiver file names

    @property
    def failed(self) -> bool:
        return self.verdict in (Verdict.FAIL, Verdict.ERROR)

    @property
    def accepted(self) -> bool:
        """Failed, but a waiver that has not expired accepts it: it blocks nothing."""
        return self.verdict == Verdict.FAIL and self.waiver is not None and not self.waiver.expired

    @property
    def fixed_by(self) -> Remedy:
        """The rule's remedy, else one derived from the location: a values key -> values, a template -> chart."""
        if self.remedy is not None:
            return self.remedy
        loc = self.location
        if loc is not None and loc.key_path:
            return Remedy(FixKind.VALUES, key_path=loc.key_path, where=loc.placement(), absent=loc.absent)
        if loc is not None and loc.file and "/templates/" in f"/{loc.file}":
            return Remedy(FixKind.CHART, template=loc.file)
        return Remedy(FixKind.VALUES)

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
        if self.failed:
            lines.append(f"  fixed by: {self.fixed_by.line()}")
        if self.waiver is not None:
            lines.append(f"  waiver:   {self.waiver.line()}")
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
    ACCEPTED = "accepted"  # failed, but every failed finding is accepted by a waiver that has not expired
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def blocks(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


def blocks_run(finding: Finding, *, strict: bool) -> bool:
    """THE definition of "this finding fails the run": a check that could not run (verdict ERROR) or a
    failed error-severity rule always; a failed warning-severity rule only when the run is strict. A waiver
    decides first: one in force accepts the finding (blocks nothing); an expired one fails it, whatever its
    severity (the acceptance ran out: the run says so with the waiver's reason)."""
    if finding.waiver is not None and finding.verdict == Verdict.FAIL:
        return finding.waiver.expired
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
        if all(f.accepted for f in found if f.failed):
            return Status.ACCEPTED
        return Status.WARN
    return Status(verdict.value)


def fix_kinds(findings: Iterable[Finding]) -> dict[str, int]:
    """How many failed findings each kind of fixer can fix (``values``, ``chart``): the summaries' split."""
    counts = {kind.value: 0 for kind in FixKind}
    for f in findings:
        if f.failed:
            counts[f.fixed_by.kind.value] += 1
    return counts


def passed(rule_id: str, message: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.PASS, message=message, severity=severity)


def skipped(rule_id: str, reason: str) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.SKIP, message=reason, severity=Severity.INFO)
