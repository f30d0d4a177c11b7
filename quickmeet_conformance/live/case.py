"""What a live case produces: its hand edits, its redacted progress log and its result (findings, view, log)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, Verdict, verdict_of
from ..progress import Waited
from ..redact import Redactor
from .state import LiveView


@dataclass(frozen=True)
class Tamper:
    """A hand edit after an install (what ``kubectl scale``/``set image`` would send): a strategic merge patch."""

    kind: str
    name: str
    patch: dict[str, Any]


@dataclass
class CaseLog:
    """A live case's progress lines, redacted before they are shown or kept: helm's errors quote values, and
    a line on the terminal cannot be taken back."""

    case_id: str
    redactor: Redactor
    write: Callable[[str], None] = lambda line: None
    lines: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # seconds since the case started, one per line
    start: float = field(default_factory=time.monotonic)
    waits: list[Waited] = field(default_factory=list)  # each bounded wait of the case: rollouts, probes

    def say(self, line: str) -> None:
        text = self.redactor.text(f"[live {self.case_id}] {line}")
        self.lines.append(text)
        self.times.append(time.monotonic() - self.start)
        self.write(text)


@dataclass
class LiveCaseResult:
    """One live case: what ran where, the view the rules saw, their findings, and the case's log."""

    id: str
    label: str
    release: str
    namespace: str
    view: LiveView
    findings: dict[str, list[Finding]]
    redactor: Redactor = field(default_factory=Redactor)
    log: list[str] = field(default_factory=list)
    diagnostics: str = ""  # events, pods, describe (redacted), captured while the namespace existed
    static_findings: dict[str, list[Finding]] = field(
        default_factory=dict
    )  # audit: static rules on the release
    audit: bool = False
    log_times: list[float] = field(default_factory=list)  # seconds since the case started, per log line
    probe_targets: dict[str, str] = field(
        default_factory=dict
    )  # "bus"/"ws" -> what the probes reached (kind)
    waits: list[Waited] = field(default_factory=list)  # each bounded wait: how long, met or why not

    def verdict(self, rule_id: str) -> Verdict:
        return verdict_of(self.findings.get(rule_id, []))

    def static_verdict(self, rule_id: str) -> Verdict:
        return verdict_of(self.static_findings.get(rule_id, []))

    def failed(self) -> bool:
        return any(f.failed for fs in self.findings.values() for f in fs)
