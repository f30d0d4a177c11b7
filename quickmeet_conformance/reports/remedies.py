"""Who fixes a finding and what the waivers did, as text lines every text-like format shares.

Each failed finding says who can fix it (``values: set K (file:line)`` or ``chart: T:L hard-codes this``,
with the chart version that fixes it and a workaround when known) and, when a waiver names it, that it is
accepted (or that the waiver expired). A run ends with the two kinds of fixer counted apart and the
waivers' effect, each unmatched waiver named. Not a format: no ``@register`` here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..findings import Finding, FixKind, Waiver, fix_kinds
from ..waivers import counts, unmatched


def remedy_lines(finding: Finding, *, brief: bool = False) -> list[str]:
    """``fixed by:`` (and ``workaround:``, indented) for a failed finding; ``waiver:`` when one names it.
    ``brief``: a workaround shown in full above is cut to what differs (the patch after ``patches:``)."""
    if not finding.failed:
        return []
    remedy = finding.fixed_by
    lines = [f"fixed by: {remedy.line()}"]
    if remedy.kind == FixKind.CHART and remedy.workaround:
        first, *rest = remedy.workaround.splitlines()
        if brief and "patches:" in rest:
            first, rest = "as above, with the patch:", rest[rest.index("patches:") + 1 :]
        lines.append(f"workaround: {first}")
        lines.extend(f"  {line}" for line in rest)
    if finding.waiver is not None:
        lines.append(f"waiver: {finding.waiver.line()}")
    return lines


def values_fixable(findings: Iterable[Finding]) -> bool:
    """Whether any failed finding is fixed in values: only then is the rule's own fix text (which may say
    "set ...") shown; a chart defect shows its template and workaround instead."""
    return any(f.failed and f.fixed_by.kind == FixKind.VALUES for f in findings)


def summary_lines(findings: Iterable[Finding], waivers: Sequence[Waiver]) -> list[str]:
    """The run's split by fixer, and what the waivers did (accepted, expired, unmatched: each named)."""
    found = list(findings)
    kinds = fix_kinds(found)
    lines = []
    if kinds["values"] or kinds["chart"]:
        lines.append(
            f"fixed by: {kinds['values']} failed finding(s) in the values, {kinds['chart']} only in the chart "
            "(no values key changes them)"
        )
    if waivers:
        done = counts(found)
        lines.append(
            f"waivers: {len(waivers)} given, {done['accepted']} finding(s) accepted, "
            f"{done['expired']} failing on an expired waiver"
        )
        lines.extend(
            f"waiver matches no finding: {w.source} (rule {w.rule}, target {w.target})"
            for w in unmatched(waivers, found)
        )
    return lines
