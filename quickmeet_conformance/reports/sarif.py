"""``--sarif out.sarif``: the findings as a SARIF 2.1.0 log, for code-scanning UIs and editors.

One result per failed finding, located where the user must change something: the values-file key
(line and column) when the fault is in the values, else the chart template that produced the
resource. Paths below the working directory are written relative to it (``%SRCROOT%``). Results that
every helm major reports alike are written once, naming the majors. Findings arrive redacted.
Upgrade and live findings come from the report model's ``upgrades`` and ``live`` sections, those that
have a location (a values key, or a template of a chart directory). Every rule links to docs/rules.md.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..charts import Chart
from ..findings import Finding, Location, Severity, Verdict, Waiver, blocks_run
from ..pipeline import CaseResult
from ..probes import ProbeResult
from ..rules.engine import RULES, Rule
from ..values import layers_of
from .model import finding_dict
from .reporter import PytestOption, Reporter, ReportRun, register
from .rules_doc import rules_doc_uri
from .text import verdict_dict

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "quickmeet-conformance"
SRCROOT = "%SRCROOT%"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def level_of(finding: Finding, *, strict: bool = False) -> str:
    """A finding that fails the run (findings.blocks_run: e.g. one that could not be evaluated, or a warning
    under strict) is an error whatever the rule's severity."""
    return "error" if blocks_run(finding, strict=strict) else _LEVEL[finding.severity]


def rule_name(rule_id: str) -> str:
    """``capacity.ddp-streamer`` -> ``CapacityDdpStreamer`` (SARIF's human-readable rule name)."""
    words = rule_id.replace(".", "-").replace("_", "-").split("-")
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def rule_descriptor(rule_obj: Rule) -> dict[str, Any]:
    """A rule's SARIF descriptor: its help cites the public document (``helpUri``); the CONTRACT.md section,
    the project's own file, stays a separate property (``properties.contract``), as does docs/rules.md."""
    text = f"Checks: {rule_obj.title}.\nDocs: {rule_obj.doc}\nFix: {rule_obj.fix}"
    markdown = f"**Checks:** {rule_obj.title}\n\n**Docs:** [{rule_obj.doc}]({rule_obj.doc})\n\n**Fix:** {rule_obj.fix}"
    return {
        "id": rule_obj.id,
        "name": rule_name(rule_obj.id),
        "shortDescription": {"text": rule_obj.title},
        "fullDescription": {"text": f"{rule_obj.title}. Documented at {rule_obj.doc}"},
        "help": {"text": text, "markdown": markdown},
        "helpUri": rule_obj.doc,
        "defaultConfiguration": {"level": _LEVEL[rule_obj.severity]},
        "properties": {
            "contract": rule_obj.contract,
            "basis": rule_obj.basis,
            "rulesDocUri": rules_doc_uri(rule_obj.id),
            "lane": rule_obj.lane,
            "tags": ["conformance", rule_obj.lane],
        },
    }


def artifact_location(path: str | os.PathLike[str], base_dir: Path) -> dict[str, Any]:
    """``{"uri": "rel/path", "uriBaseId": "%SRCROOT%"}`` below ``base_dir``, else an absolute file URI."""
    absolute = Path(os.path.abspath(Path(base_dir) / path))
    try:
        relative = absolute.relative_to(os.path.abspath(base_dir))
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}


def template_path(chart: Chart, source: str) -> Path:
    """``rocketchat/templates/ingress.yaml`` (helm's ``# Source:``) -> that file in the chart directory.

    The first component is the chart's name; a subchart's templates follow as ``charts/<sub>/...``.
    """
    parts = PurePosixPath(source).parts
    return Path(chart.path, *parts[1:]) if len(parts) > 1 else Path(chart.path, source)


def _physical(location: dict[str, Any], line: int | None = None, column: int | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": location}
    if line is not None and line >= 1:
        region: dict[str, Any] = {"startLine": line}
        if column is not None and column >= 1:
            region["startColumn"] = column
        physical["region"] = region
    return physical


def _locations(result: CaseResult, finding: Finding, base_dir: Path) -> tuple[dict[str, Any], bool]:
    """The result's location and whether it is a chart template (else the values file)."""
    values_loc = artifact_location(_values_file(result), base_dir)
    loc = finding.location
    if loc is not None and loc.line is None and loc.file and not loc.key_path and _is_template(loc.file):
        physical = _physical(artifact_location(template_path(result.case.chart, loc.file), base_dir))
        on_template = True
    elif loc is not None:  # the values file, or the layer of layered values that set the key
        physical = _physical(
            artifact_location(loc.file, base_dir) if loc.file else values_loc, loc.line, loc.column
        )
        on_template = False
    else:  # a finding about the values file as a whole (or one the rule could not place)
        physical = _physical(values_loc)
        on_template = False
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.resource:
        name = finding.resource + (f".{finding.field_path}" if finding.field_path else "")
        location["logicalLocations"] = [
            {"name": finding.resource, "fullyQualifiedName": name, "kind": "resource"}
        ]
    return location, on_template


def _values_file(result: CaseResult) -> str:
    """The case's values file; for layered values (base.yaml+prod.yaml) the last layer."""
    return layers_of(result.case.values_path)[-1]


def _is_template(file: str) -> bool:
    return "/templates/" in f"/{file}" or file.endswith(".tpl")


def _verdict_parts(fixed_by: dict[str, Any] | None, waiver: dict[str, Any] | None) -> dict[str, Any]:
    """Who fixes a result (``properties.fixedBy``: values or chart) and, for one a waiver accepts, SARIF's
    ``suppressions`` (external, accepted, with the waiver's reason as the justification). A result whose
    waiver expired is not suppressed: it fails again, and its message says so."""
    parts: dict[str, Any] = {}
    if fixed_by is not None:
        parts["fixedBy"] = fixed_by
    if waiver is not None:
        parts["waiver"] = waiver
    return parts


def _suppressions(waiver: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if waiver is None or waiver["expired"]:
        return None
    return [
        {
            "kind": "external",
            "status": "accepted",
            "justification": f"{waiver['reason']} (until {waiver['expires']}; {waiver['source']})",
        }
    ]


def _template_line(chart: Chart, finding: Finding, base_dir: Path) -> dict[str, Any] | None:
    """The template line a chart defect is hard-coded on (``Remedy.template`` ``templates/x.yaml:23``)."""
    remedy = finding.fixed_by
    file, _, line = remedy.template.rpartition(":")
    if remedy.kind.value != "chart" or not line.isdigit() or not Path(chart.path).is_dir():
        return None
    return {
        "id": 2,
        "physicalLocation": _physical(artifact_location(Path(chart.path, file), base_dir), int(line)),
        "message": {"text": "the chart hard-codes this here; no values key changes it"},
    }


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _results(
    results: Iterable[CaseResult],
    rule_index: dict[str, int],
    base_dir: Path,
    strict: bool,
) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for result in results:
        helm = result.case.renderer.helm.label
        for rule_id, findings in result.findings.items():
            for finding in findings:
                if not finding.failed:
                    continue
                location, on_template = _locations(result, finding, base_dir)
                key = json.dumps(
                    [
                        rule_id,
                        result.case.values_path,
                        str(result.case.chart.path),
                        finding.detail(),
                        location,
                        finding.verdict.value,
                    ],
                    sort_keys=True,
                )
                if key in merged:
                    if helm not in merged[key]["properties"]["helm"]:
                        merged[key]["properties"]["helm"].append(helm)
                    continue
                entry: dict[str, Any] = {
                    "ruleId": rule_id,
                    "ruleIndex": rule_index[rule_id],
                    "level": level_of(finding, strict=strict),
                    "message": {"text": finding.detail()},
                    "locations": [location],
                    "partialFingerprints": {
                        "qmcFinding/v1": _fingerprint(
                            rule_id,
                            result.case.values_path,
                            finding.message,
                            finding.resource,
                            finding.field_path,
                        ),
                    },
                    "properties": {
                        "verdict": finding.verdict.value,
                        "valuesFile": result.case.values_path,
                        "chart": result.case.chart.label,
                        "helm": [helm],
                        **{
                            k: v
                            for k, v in (
                                ("expected", finding.expected),
                                ("found", finding.found),
                                ("resource", finding.resource),
                                ("fieldPath", finding.field_path),
                                ("keyPath", finding.location.key_path if finding.location else ""),
                            )
                            if v
                        },
                    },
                }
                if on_template:  # the values file that made the chart render it
                    entry["relatedLocations"] = [
                        {
                            "id": 1,
                            "physicalLocation": _physical(artifact_location(_values_file(result), base_dir)),
                            "message": {"text": "values file rendered with this chart"},
                        }
                    ]
                hard_coded = _template_line(result.case.chart, finding, base_dir)
                if hard_coded is not None:
                    entry.setdefault("relatedLocations", []).append(hard_coded)
                shown = finding_dict(finding)
                entry["properties"].update(_verdict_parts(shown["fixed_by"], shown["waiver"]))
                suppressions = _suppressions(shown["waiver"])
                if suppressions:
                    entry["suppressions"] = suppressions
                merged[key] = entry
    return list(merged.values())


def _probe_results(
    probes: Iterable[ProbeResult], rule_index: dict[str, int], strict: bool
) -> list[dict[str, Any]]:
    """Probe findings sit at no file: their location is the probed URL (a logical location)."""
    entries = []
    for probe in probes:
        for finding in probe.findings:
            if finding.failed:
                entries.append(
                    {
                        "ruleId": finding.rule_id,
                        "ruleIndex": rule_index[finding.rule_id],
                        "level": level_of(finding, strict=strict),
                        "message": {"text": finding.detail()},
                        "locations": [
                            {
                                "logicalLocations": [
                                    {"name": probe.target, "fullyQualifiedName": probe.target, "kind": "url"}
                                ]
                            }
                        ],
                        "partialFingerprints": {
                            "qmcFinding/v1": _fingerprint(
                                finding.rule_id, probe.target, finding.message, finding.resource
                            )
                        },
                        "properties": {"verdict": finding.verdict.value, "target": probe.target},
                    }
                )
    return entries


def _section_location(
    finding: dict[str, Any], chart_dir: str | None, base_dir: Path
) -> dict[str, Any] | None:
    """A report-model finding's location: its values key, or its chart template when the chart is a directory."""
    loc = finding.get("location") or {}
    file = str(loc.get("file") or "")
    if not file:
        return None
    if loc.get("line") is None and not loc.get("key_path") and _is_template(file):
        if not chart_dir or not Path(chart_dir).is_dir():
            return None  # a packaged or pulled chart: no file of the user's to point at
        parts = PurePosixPath(file).parts
        physical = _physical(artifact_location(Path(chart_dir, *parts[1:]), base_dir))
    else:
        physical = _physical(artifact_location(file, base_dir), loc.get("line"), loc.get("column"))
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.get("resource"):
        name = finding["resource"] + (f".{finding['field_path']}" if finding.get("field_path") else "")
        location["logicalLocations"] = [
            {"name": finding["resource"], "fullyQualifiedName": name, "kind": "resource"}
        ]
    return location


def _section_cases(sections: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any], str | None]]:
    """(lane, case, chart directory) for every upgrade pair and live case of the report model."""
    for upgrade in sections.get("upgrades") or []:
        yield (
            "upgrade",
            upgrade,
            str(((upgrade.get("to") or {}).get("chart") or {}).get("source") or "") or None,
        )
    for case in (sections.get("live") or {}).get("cases") or []:
        yield "live", case, None


def _section_results(
    sections: dict[str, Any],
    rule_index: dict[str, int],
    base_dir: Path,
    strict: bool,
) -> list[dict[str, Any]]:
    out = []
    for lane, case, chart_dir in _section_cases(sections):
        for rule in case.get("rules") or []:
            for finding in rule["findings"]:
                if finding["verdict"] not in ("fail", "error") or rule["id"] not in rule_index:
                    continue
                location = _section_location(finding, chart_dir, base_dir)
                if location is None:
                    continue
                as_finding = Finding(
                    rule["id"],
                    Verdict(finding["verdict"]),
                    finding["message"],
                    Severity(finding["severity"]),
                    finding.get("expected") or "",
                    finding.get("found") or "",
                    finding.get("resource") or "",
                    finding.get("field_path") or "",
                    _location_of(finding),
                    tuple((str(k), str(v)) for k, v in finding.get("evidence") or []),
                    waiver=_waiver_of(finding.get("waiver")),
                )
                out.append(
                    {
                        "ruleId": rule["id"],
                        "ruleIndex": rule_index[rule["id"]],
                        "level": level_of(as_finding, strict=strict),
                        "message": {"text": as_finding.detail()},
                        "locations": [location],
                        "partialFingerprints": {
                            "qmcFinding/v1": _fingerprint(
                                rule["id"],
                                lane,
                                str(case["id"]),
                                finding["message"],
                                finding.get("resource") or "",
                                finding.get("field_path") or "",
                            )
                        },
                        "properties": {
                            "verdict": finding["verdict"],
                            "lane": lane,
                            "case": str(case["id"]),
                            **{
                                k: v
                                for k, v in (
                                    ("expected", finding.get("expected")),
                                    ("found", finding.get("found")),
                                    ("resource", finding.get("resource")),
                                    ("fieldPath", finding.get("field_path")),
                                )
                                if v
                            },
                            **_verdict_parts(finding.get("fixed_by"), finding.get("waiver")),
                        },
                    }
                )
                suppressions = _suppressions(finding.get("waiver"))
                if suppressions:
                    out[-1]["suppressions"] = suppressions
    return out


def _waiver_of(waiver: dict[str, Any] | None) -> Waiver | None:
    """A report-model waiver back as data (so the level and message judge it as the run did)."""
    if waiver is None:
        return None
    return Waiver(
        waiver["rule"],
        waiver["target"],
        waiver["reason"],
        datetime.date.fromisoformat(waiver["expires"]),
        waiver["source"],
        bool(waiver["expired"]),
    )


def _location_of(finding: dict[str, Any]) -> Location | None:
    loc = finding.get("location")
    return (
        Location(loc["file"], loc.get("key_path") or "", loc.get("line"), loc.get("column")) if loc else None
    )


def sarif_log(
    results: list[CaseResult],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    setup_error: str | None = None,
    sections: dict[str, Any] | None = None,
    strict: bool = False,
    probes: Iterable[ProbeResult] = (),
) -> dict[str, Any]:
    """The SARIF log for ``results`` and the ``upgrades``/``live`` of ``sections`` (the report model);
    ``setup_error`` (the run stopped before any rule ran) and values files that could not be read become
    tool execution notifications, not results."""
    base = Path(os.path.abspath(base_dir if base_dir is not None else os.getcwd()))
    probes = list(probes)
    sections = sections or {}
    evaluated = {rule_id for r in results for rule_id in r.findings} | {p.rule_id for p in probes}
    evaluated |= {
        rule["id"]
        for _, case, _ in _section_cases(sections)
        for rule in case.get("rules") or []
        if rule["id"] in RULES
    }
    rules = [RULES[rule_id] for rule_id in RULES if rule_id in evaluated]
    rule_index = {r.id: i for i, r in enumerate(rules)}
    notifications: list[dict[str, Any]] = []
    if setup_error:
        notifications.append({"level": "error", "message": {"text": setup_error}})
    seen_inputs = set()
    for result in results:
        if result.input_error and result.case.values_path not in seen_inputs:
            seen_inputs.add(result.case.values_path)
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": result.input_error},
                    "locations": [
                        {"physicalLocation": _physical(artifact_location(_values_file(result), base))}
                    ],
                }
            )
    invocation: dict[str, Any] = {
        "executionSuccessful": not notifications,
        "workingDirectory": {"uri": base.as_uri() + "/"},
    }
    verdicts = sections.get("verdicts") or {}
    for waiver in (verdicts.get("waivers") or {}).get("unmatched") or []:  # reported; the run still succeeded
        notifications.append(
            {
                "level": "warning",
                "message": {
                    "text": f"waiver matches no finding: {waiver['source']} (rule {waiver['rule']}, "
                    f"target {waiver['target']})"
                },
            }
        )
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(r) for r in rules],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": base.as_uri() + "/"}},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": (
            _results(results, rule_index, base, strict)
            + _probe_results(probes, rule_index, strict)
            + _section_results(sections, rule_index, base, strict)
        ),
    }
    if verdicts:
        run["properties"] = {"fixedBy": verdicts.get("fixed_by"), "waivers": verdicts.get("waivers")}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


@register
class SarifReporter(Reporter):
    """SARIF 2.1.0: written by the pytest route even when no case ran, to carry a setup error or probes."""

    name = "sarif"
    order = 40
    cli_flag = "--sarif"
    cli_help = "also write the findings as SARIF 2.1.0 to FILE"
    pytest_option = PytestOption(
        "qmc_sarif", "--sarif", "QMC_SARIF", "write the findings as a SARIF 2.1.0 log (code scanning)", "FILE"
    )

    def render(self, run: ReportRun) -> str:
        log = sarif_log(
            list(run.results),
            setup_error=run.setup_error,
            sections=run.document,
            strict=run.strict,
            probes=run.probes,
        )
        if (
            run.document is not None
        ):  # the verdict and exit code (SARIF's invocation.exitCode), as the CLI exits
            verdict = verdict_dict(run)
            log["runs"][0]["invocations"][0]["exitCode"] = verdict["exit_code"]
            log["runs"][0]["properties"] = {"verdict": verdict}
        return json.dumps(log, indent=2) + "\n"

    def wanted(self, run: ReportRun) -> bool:
        return bool(run.probes) or run.setup_error is not None or super().wanted(run)
