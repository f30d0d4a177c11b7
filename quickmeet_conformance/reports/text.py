"""``conformance check``'s text report (``--format text``, the default): the chart and helm checked with, then
per case, what fails first, each finding once with where and how to fix.

    my-values.yaml  (rocketchat 2.0.0, helm3)
      FAIL  values.ignored-keys  microservices.ddpStreamers is read by no template ...; did you mean 'ddpStreamer'?
            at my-values.yaml:3:3 (microservices.ddpStreamers)
            expected: a key that rocketchat-2.0.0 reads | found: ddpStreamers
            fix: rename the key to the one the chart reads (see 'did you mean'), or delete it
      WARN  hygiene.resources ...
      rules: 2 failing, 3 warning, 22 passing, 1 skipped (a rule counts once, however many findings it reports)

Findings arrive redacted; a warning fails only with ``strict``. The last line is the verdict and exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..findings import Finding, status_of
from ..rules.engine import RULES
from .remedies import remedy_lines, summary_lines, values_fixable
from .reporter import Reporter, ReportRun, register

if TYPE_CHECKING:  # the session that checked: its chart and helm binaries head the report
    from ..session import ConformanceSession

_ORDER = {"FAIL": 0, "ERROR": 0, "WARN": 1, "ACCEPTED": 2, "SKIP": 3, "PASS": 4}


def _mark(findings: list[Finding], strict: bool) -> str:
    return status_of(findings, strict=strict).value.upper()


def _flat(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _finding_lines(finding: Finding, brief: bool = False) -> list[str]:
    text = finding.message
    if finding.resource:
        text += f" [{finding.resource}{'.' + finding.field_path if finding.field_path else ''}]"
    lines = [_flat(text)]
    loc = finding.location
    if loc is not None and not (loc.absent and finding.failed and finding.fixed_by.key_path == loc.key_path):
        lines.append(f"at {loc}")  # an absent key's place is said once, by "fixed by" below
    seen = " | ".join(
        f"{name}: {_flat(value)}"
        for name, value in (("expected", finding.expected), ("found", finding.found))
        if value
    )
    if seen:
        lines.append(seen)
    return lines + remedy_lines(finding, brief=brief)


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
            first, *rest = _finding_lines(finding, brief=index > 0)
            lines.append(f"  {mark if index == 0 else '':<5}  {rule_id}  {first}")
            lines.extend(f"         {line}" for line in rest)
        if values_fixable(failed):
            lines.append(f"         fix: {RULES[rule_id].fix}")
        lines.append(f"         docs: {RULES[rule_id].doc}")
    counts: dict[str, int] = {}
    for mark in marks.values():
        counts[mark] = counts.get(mark, 0) + 1
    tally = ", ".join(
        f"{counts[m]} {word}"
        for m, word in (
            ("FAIL", "failing"),
            ("ERROR", "could not be evaluated"),
            ("WARN", "warning"),
            ("ACCEPTED", "accepted"),
            ("PASS", "passing"),
            ("SKIP", "skipped"),
        )
        if counts.get(m)
    )
    # rules count checks (one line each above); findings count what they report (a rule may report several)
    lines.append(f"  rules: {tally} (a rule counts once, however many findings it reports)")
    return lines


def chart_line(session: ConformanceSession, bundled: bool) -> str:
    """The chart, helm binaries and Kubernetes version the cases were checked with."""
    chart = session.chart
    line = f"chart: {chart.name} {chart.version} (app {chart.app_version or '?'})"
    if bundled:
        line += " - the bundled reference chart (--chart rocketchat/rocketchat checks the published one)"
    else:
        line += f" from {chart.spec}"
    helms = ", ".join(f"{session.helm(h).label} {session.helm(h).version}" for h in session.settings.helm)
    return f"{line}\nhelm: {helms}; Kubernetes {session.settings.options.kube_version}"


def verdict_line(run: ReportRun) -> str:
    """The result of the whole check and the exit code it gives."""
    checked = len(run.results) + len(run.upgrades)
    what = f"{checked} case{'s' if checked != 1 else ''}"
    inputs, failing = run.input_errors(), run.failing()
    if inputs:
        return f"result: {inputs} of {what} could not be checked (input error above) - exit 2"
    if failing:
        return f"result: NOT conformant - {failing} of {what} with failing rules (what, where, fix above) - exit 1"
    warned = sum(1 for r in run.results for f in r.failures(strict=True)) + sum(
        1 for u in run.upgrades for fs in u.findings.values() for f in fs if f.failed
    )
    return (
        f"result: conformant - {what}"
        + (
            f" ({warned} warning finding{'s' if warned != 1 else ''}; --strict makes warnings fail)"
            if warned
            else ""
        )
        + " - exit 0"
    )


def verdict_dict(run: ReportRun) -> dict[str, object]:
    """The verdict as data, for the JSON report and SARIF: the result, the exit code, and the verdict line."""
    code = run.exit_code()
    return {
        "result": ("conformant", "not conformant", "not checked")[code],
        "exit_code": code,
        "summary": verdict_line(run),
    }


@register
class TextReporter(Reporter):
    """``conformance check`` only (its session heads the report); pytest has its terminal summary."""

    name = "text"
    order = 10

    def render(self, run: ReportRun) -> str:
        if run.session is None:
            raise ValueError("the text report needs the session that checked the cases")
        lines = [chart_line(run.session, run.bundled)]
        for r in run.results:
            title = f"{r.case.values_path}  ({r.case.chart.label}, {r.case.renderer.helm.label})"
            lines += [""] + case_lines(
                title, r.findings, r.input_error, strict=run.strict, verbose=run.verbose
            )
        for u in run.upgrades:
            case = u.case
            title = (
                f"upgrade {case.pair.from_side.values_label} ({case.from_chart.label}) -> "
                f"{case.pair.to_side.values_label} ({case.to_chart.label}), {case.renderer.helm.label}"
            )
            lines += [""] + case_lines(
                title, u.findings, u.input_error, strict=run.strict, verbose=run.verbose
            )
            if u.plan is not None:
                from .upgrade import plan_lines  # the upgrade lane loads only when there is a plan

                lines += ["  plan:"] + [f"    {line}" for line in plan_lines(u.plan)]
        summary = summary_lines(run.findings(), run.waivers)
        return "\n".join(lines + [""] + summary + [verdict_line(run)]) + "\n"
