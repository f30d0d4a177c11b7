"""``conformance check --format junit``: the findings as JUnit XML, for CI test-report viewers.

One test suite per case (values file or upgrade pair, per helm binary), one test case per rule, named like the
pytest route names them (``<rule id>[<case id>]``). A rule fails when one of its findings blocks the run (an
error-severity failure, or any failure with ``--strict``); a warning it only reports is a passed test case
with the finding as a property, as under pytest. Findings arrive redacted.

The pytest route writes JUnit with pytest's own ``--junitxml``; ``finding_properties`` and
``evidence_properties`` are the properties its test cases carry (the plugin adds them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..findings import Finding, FixKind, Status, blocking, status_of
from ..pipeline import CaseResult
from ..rules.engine import RULES
from .remedies import values_fixable
from .reporter import Reporter, ReportRun, register

if TYPE_CHECKING:  # ElementTree loads when JUnit is written, not when the registry lists the formats
    import xml.etree.ElementTree as ET


@dataclass(frozen=True)
class JUnitSuite:
    """One case as a test suite: its id, the rules' findings, and the one-line input error that stopped it."""

    name: str
    findings: dict[str, list[Finding]]
    input_error: str | None = None


def _properties(parent: ET.Element, findings: list[Finding]) -> None:
    failed = [f for f in findings if f.failed]
    if not failed:
        return
    import xml.etree.ElementTree as ET

    props = ET.SubElement(parent, "properties")
    for finding in failed:
        for name, value in (
            ("finding", finding.message),
            ("expected", finding.expected),
            ("found", finding.found),
            ("resource", finding.resource),
            ("field_path", finding.field_path),
            ("location", str(finding.location) if finding.location else ""),
            *_verdict_properties(finding),
        ):
            if value:
                ET.SubElement(props, "property", name=name, value=value)


def _verdict_properties(finding: Finding) -> list[tuple[str, str]]:
    """Who fixes the finding (``fixed_by``: values or chart, ``workaround``) and the waiver that names it."""
    remedy = finding.fixed_by
    return [
        ("fixed_by", remedy.line()),
        ("workaround", remedy.workaround if remedy.kind == FixKind.CHART else ""),
        ("waiver", finding.waiver.line() if finding.waiver is not None else ""),
    ]


def junit_xml(suites: list[JUnitSuite], *, strict: bool) -> str:
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="quickmeet-conformance")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        element = ET.SubElement(root, "testsuite", name=suite.name)
        if suite.input_error is not None:
            case = ET.SubElement(element, "testcase", classname=suite.name, name=f"input[{suite.name}]")
            ET.SubElement(case, "error", message=suite.input_error, type="input")
            counts["tests"] += 1
            counts["errors"] += 1
        for rule_id, findings in suite.findings.items():
            counts["tests"] += 1
            case = ET.SubElement(element, "testcase", classname=suite.name, name=f"{rule_id}[{suite.name}]")
            _properties(case, findings)
            status = status_of(findings, strict=strict)
            failed = blocking(findings, strict=strict)
            if status == Status.SKIP:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message="; ".join(sorted({f.message for f in findings})))
            elif status.blocks:
                kind = "errors" if status == Status.ERROR else "failures"
                counts[kind] += 1
                meta = RULES.get(rule_id)
                text = "\n".join(f.detail() for f in failed)
                if meta is not None:
                    text += f"\ndocs: {meta.doc}"
                    text += f"\nfix: {meta.fix}" if values_fixable(failed) else ""
                failure = ET.SubElement(
                    case,
                    "error" if kind == "errors" else "failure",
                    message=failed[0].one_line(),
                    type=failed[0].severity.value,
                )
                failure.text = text
        for key, value in counts.items():
            element.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


@register
class JUnitReporter(Reporter):
    """``conformance check --format junit`` only: under pytest, ``--junitxml`` is pytest's own."""

    name = "junit"
    order = 30

    def render(self, run: ReportRun) -> str:
        suites = [JUnitSuite(r.case.id, r.findings, r.input_error) for r in run.results]
        suites += [JUnitSuite(f"upgrade:{u.case.id}", u.findings, u.input_error) for u in run.upgrades]
        return junit_xml(suites, strict=run.strict)


# -- the pytest route: properties of pytest's own JUnit test cases ------------------------------------------
def finding_properties(rule_id: str, findings: list[Finding]) -> list[tuple[str, str]]:
    """(name, value) pairs for each failed finding (findings are already redacted)."""
    props: list[tuple[str, str]] = []
    for finding in findings:
        if not finding.failed:
            continue
        props.append(("finding", f"{rule_id}: {finding.message}"))
        for name, value in (
            ("expected", finding.expected),
            ("found", finding.found),
            ("resource", finding.resource),
            ("field_path", finding.field_path),
            ("location", str(finding.location) if finding.location else ""),
            *_verdict_properties(finding),
        ):
            if value:
                props.append((name, value))
        props.extend((f"evidence.{k}", v) for k, v in finding.evidence)
    return props


def evidence_properties(result: CaseResult, rule_id: str) -> list[tuple[str, str]]:
    """The JUnit properties of a failed static case: its findings' evidence, and a bad input's one line."""
    props = finding_properties(rule_id, result.findings.get(rule_id, []))
    if result.input_error is not None:
        props.append(("input_error", result.input_error))
    return props
