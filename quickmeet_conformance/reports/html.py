"""The HTML report (``--conformance-html`` / ``conformance check --html``): one self-contained page (inline
CSS, pre-rendered inline SVG, no script, no network).

Per static case the release drawn (``graph.py``), the rules x values files x helm matrix with each cell
linking to its finding, each upgrade's plan as a table with its findings, and each live case's stream-hub
pod count as a step chart (limit 1) with the rollout timeline. Everything is read from the report model
(already redacted); nothing is re-evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .diagrams import escape as _e
from .diagrams import legend_html, step_chart_svg, topology_svg
from .matrix import (
    MARKS,
    case_anchor,
    case_verdict,
    failed_findings,
    finding_anchor,
    rule_anchor,
    shown_verdict,
    verdict_matrix,
    where,
)
from .reporter import PytestOption, Reporter, ReportRun, register

CSS = """
:root { --fail:#cf222e; --warn:#9a6700; --pass:#1a7f37; --skip:#57606a; --err:#8250df; --line:#d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color:#1f2328;
       margin: 0; background:#f6f8fa; }
header { background:#24292f; color:#fff; padding: 14px 24px; }
header h1 { margin:0; font-size: 20px; } header p { margin: 4px 0 0; color:#d0d7de; }
main { padding: 12px 24px 40px; max-width: 1800px; }
section.block { background:#fff; border:1px solid var(--line); border-radius:6px; padding: 12px 16px; margin: 14px 0; }
h2 { font-size: 18px; margin: 4px 0 10px; } h3 { font-size: 16px; margin: 14px 0 8px; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background:#f6f8fa; }
table.matrix td.cell { text-align:center; font-weight:600; font-size: 12px; min-width: 52px; }
table.matrix td.cell a { color: inherit; text-decoration: none; display:block; }
.v-pass { background:#dafbe1; color: var(--pass); } .v-fail { background:#ffebe9; color: var(--fail); }
.v-warn { background:#fff8c5; color: var(--warn); } .v-skip { background:#f6f8fa; color: var(--skip); }
.v-accepted { background:#ddf4ff; color:#0969da; } pre.workaround { margin:4px 0; }
.v-error { background:#fbefff; color: var(--err); } .v-none { color:#8c959f; }
.badge { display:inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; }
.finding { border-left: 4px solid var(--line); padding: 4px 10px; margin: 6px 0; background:#fff; }
.finding.sev-error { border-color: var(--fail); } .finding.sev-warning { border-color: var(--warn); }
.finding.v-error { border-color: var(--err); }
.finding strong { color:#1f2328; }
.finding :target, .finding:target { outline: 2px solid #0969da; }
.finding dl { display:grid; grid-template-columns: max-content auto; gap: 1px 12px; margin: 4px 0; }
.finding dt { color:#57606a; } .finding dd { margin:0; font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px;
  white-space: pre-wrap; word-break: break-word; }
svg.topology { display: block; }  /* drawn at its own size (text >= 11px): the box scrolls */
.diagram { overflow-x: auto; border:1px solid var(--line); border-radius: 6px; background:#fff; }
.legend > span { margin-right: 16px; font-size: 12px; white-space: nowrap; }
.legend .swatch { display:inline-block; width: 14px; height: 10px; border: 1px solid #57606a; vertical-align: middle; }
.plan td.action { font-weight:600; } .plan .created { color: var(--pass); } .plan .deleted { color: var(--fail); }
.plan .changed { color: var(--warn); } .plan .unchanged { color: var(--skip); }
.timeline td.t { text-align: right; white-space: nowrap; }
.muted { color:#57606a; }
details > summary { cursor: pointer; }
"""


def _badge(verdict: str) -> str:
    return f'<span class="badge v-{verdict}">{MARKS.get(verdict, verdict.upper())}</span>'


# -- findings -----------------------------------------------------------------------------------------
def finding_html(finding: dict[str, Any], anchor_id: str) -> str:
    rows = [
        ("expected", finding.get("expected")),
        ("found", finding.get("found")),
        (
            "resource",
            (finding.get("resource") or "")
            + (f".{finding['field_path']}" if finding.get("field_path") else ""),
        ),
        ("where", where(finding)),
    ] + [(k, v) for k, v in finding.get("evidence") or []]
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows if v) + _verdict_html(finding)
    return (
        f'<div class="finding sev-{_e(finding["severity"])} v-{_e(finding["verdict"])}" id="{anchor_id}">'
        f"<strong>{_e(finding['message'])}</strong><dl>{body}</dl></div>"
    )


def _verdict_html(finding: dict[str, Any]) -> str:
    """Who fixes the finding (values or chart, the chart's workaround) and the waiver that names it."""
    out = ""
    fixed_by = finding.get("fixed_by")
    if fixed_by:
        out += f"<dt>fixed by</dt><dd>{_badge(fixed_by['kind'])} {_e(fixed_by['text'])}</dd>"
        if fixed_by["kind"] == "chart" and fixed_by.get("workaround"):
            out += (
                f'<dt>workaround</dt><dd><pre class="mono workaround">{_e(fixed_by["workaround"])}</pre></dd>'
            )
    waiver = finding.get("waiver")
    if waiver:
        state = "expired on" if waiver["expired"] else "accepted until"
        out += (
            f"<dt>waiver</dt><dd>{state} {_e(waiver['expires'])} ({_e(waiver['source'])}): "
            f"{_e(waiver['reason'])}</dd>"
        )
    return out


def verdicts_html(report: dict[str, Any]) -> str:
    """The run's split by fixer and what the waivers did, each unmatched waiver named."""
    verdicts = report.get("verdicts") or {}
    fixers, waivers = verdicts.get("fixed_by") or {}, verdicts.get("waivers") or {}
    out = []
    if fixers.get("values") or fixers.get("chart"):
        out.append(
            f"<p>Failed findings fixed in the values: {fixers.get('values', 0)}; only in the chart (no values key "
            f"changes them): {fixers.get('chart', 0)}.</p>"
        )
    if waivers.get("given"):
        out.append(
            f"<p>Waivers: {waivers['given']} given, {waivers['accepted']} finding(s) accepted, "
            f"{waivers['expired']} failing on an expired waiver.</p>"
        )
        out += [
            f"<p>waiver matches no finding: {_e(w['source'])} (rule <code>{_e(w['rule'])}</code>, target "
            f"<code>{_e(w['target'])}</code>)</p>"
            for w in waivers.get("unmatched") or []
        ]
    return "".join(out)


SHOWN_ORDER = {
    "error": 0,
    "fail": 1,
    "warn": 2,
    "accepted": 3,
}  # what blocks the run first, then warnings, then the rest


def _doc_link(rule: dict[str, Any]) -> str:
    """The rule's public document as a link (a link is followed on a click, never fetched by the page)."""
    doc = rule.get("doc") or ""
    return f'<a class="doc" href="{_e(doc)}">{_e(doc)}</a>' if doc else _e(rule.get("contract", ""))


def rules_html(owner_id: str, rules: list[dict[str, Any]]) -> str:
    """The rules that did not pass, each with its failed findings (anchors the matrix and diagram link to),
    then the passing ones folded away."""
    out, passing = [], []
    for rule in sorted(rules, key=lambda r: SHOWN_ORDER.get(shown_verdict(r), 9)):
        verdict = shown_verdict(rule)
        if verdict in ("pass", "skip"):
            reason = (
                rule["findings"][0]["message"] if verdict == "skip" and rule["findings"] else rule["title"]
            )
            passing.append(
                f'<li id="{rule_anchor(owner_id, rule["id"])}">{_badge(verdict)} <code>{_e(rule["id"])}'
                f'</code> <span class="muted">{_e(reason)}</span></li>'
            )
            continue
        out.append(
            f'<div class="rule" id="{rule_anchor(owner_id, rule["id"])}"><h4>{_badge(verdict)} '
            f"<code>{_e(rule['id'])}</code> {_e(rule['title'])}</h4>"
            f'<p class="muted">Docs: {_doc_link(rule)}.'
            + (
                f" Fix: {_e(rule['fix'])}"
                if any((f.get("fixed_by") or {}).get("kind") != "chart" for f in failed_findings(rule))
                else ""
            )
            + "</p>"
        )
        out += [
            finding_html(f, finding_anchor(owner_id, rule["id"], i))
            for i, f in enumerate(failed_findings(rule))
        ]
        out.append("</div>")
    if passing:
        out.append(
            f"<details><summary>{len(passing)} rules pass or do not apply</summary><ul>{''.join(passing)}"
            "</ul></details>"
        )
    return "".join(out)


# -- sections -----------------------------------------------------------------------------------------
def matrix_html(cases: list[dict[str, Any]]) -> str:
    matrix = verdict_matrix(cases)
    head1 = "".join(
        f'<th colspan="{len(matrix.helms)}" class="values-file">{_e(v)}</th>' for v in matrix.values_files
    )
    head2 = "".join(f"<th>{_e(h)}</th>" for _ in matrix.values_files for h in matrix.helms)
    rows = []
    for rule_id in matrix.rules:
        cells = []
        for values in matrix.values_files:
            for helm in matrix.helms:
                cell = matrix.cell(rule_id, values, helm)
                if cell is None:
                    cells.append('<td class="cell v-none">-</td>')
                    continue
                cells.append(
                    f'<td class="cell v-{cell.verdict}" data-rule="{_e(rule_id)}" data-values="{_e(values)}" '
                    f'data-helm="{_e(helm)}" data-verdict="{cell.verdict}"><a href="#{cell.href}" '
                    f'title="{_e(cell.title)}">{MARKS[cell.verdict]}</a></td>'
                )
        rows.append(f'<tr><th class="rule-id"><code>{_e(rule_id)}</code></th>{"".join(cells)}</tr>')
    return (
        f'<table class="matrix"><thead><tr><th rowspan="2">rule \\ values file</th>{head1}</tr>'
        f"<tr>{head2}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _helm_of(case_id: str) -> str:
    return case_id.rsplit("@", 1)[-1]


def shared_diagrams(cases: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Cases whose rendered topology is the same (one values file, helm3 and helm4 agreeing) share one
    drawing: (case id -> the case that draws it, drawing case id -> the helms it stands for)."""
    owner_of: dict[str, dict[str, Any]] = {}
    drawn_by: dict[str, str] = {}
    helms: dict[str, list[str]] = {}
    for case in cases:
        if not case.get("graph") or case.get("input_error"):
            continue
        key = json.dumps(
            [
                case["values_file"],
                case["chart"],
                case.get("kube_version"),
                case["release"],
                case["namespace"],
                case["graph"],
            ],
            sort_keys=True,
        )
        owner = owner_of.setdefault(key, case)
        drawn_by[case["id"]] = owner["id"]
        helms.setdefault(owner["id"], []).append(_helm_of(case["id"]))
    return drawn_by, helms


def case_html(case: dict[str, Any], drawn_by: str | None = None, helms: list[str] | None = None) -> str:
    """One release: heading, diagram (or a link to the identical one another helm drew), rules."""
    verdict = case_verdict(case)
    chart = case["chart"]
    out = [
        f'<section class="block case" id="{case_anchor(case["id"])}" data-case="{_e(case["id"])}">'
        f'<h3>{_badge(verdict)} {_e(case["values_file"])} <span class="muted">@ {_e(case["id"].rsplit("@", 1)[-1])}'
        f" · chart {_e(chart['name'])} {_e(chart['version'])} (app {_e(chart['app_version'])}) · release "
        f"{_e(case['release'])} in {_e(case['namespace'])}</span></h3>"
    ]
    if case.get("input_error"):
        out.append(f'<div class="finding v-error"><strong>{_e(case["input_error"])}</strong></div></section>')
        return "".join(out)
    if case.get("graph") and drawn_by not in (None, case["id"]):
        out.append(
            f'<p class="muted same-topology">Topology identical to <a href="#{case_anchor(drawn_by)}">'
            f"{_e(_helm_of(drawn_by))}'s render, drawn there once</a>.</p>"
        )
    elif case.get("graph"):
        if helms and len(helms) > 1:
            out.append(
                f'<p class="diagram-helms"><strong>Topology · {_e(", ".join(helms))}</strong> '
                '<span class="muted">(identical renders, drawn once)</span></p>'
            )
        out.append(
            f'<div class="diagram">{topology_svg(case["graph"], case["id"])}</div>{legend_html(case["graph"])}'
        )
    else:
        out.append('<p class="muted">No diagram: the chart did not render for these values.</p>')
    out.append(rules_html(case["id"], case["rules"]))
    out.append("</section>")
    return "".join(out)


def plan_html(plan: dict[str, Any]) -> str:
    rows = []
    for action in ("created", "deleted", "changed"):
        for item in plan.get(action) or []:
            ref = f"{item['kind']}/{item['name']}"
            changes = "".join(
                f"<li><code>{_e(c['path'])}</code>: {_e(c['old'])} → {_e(c['new'])}</li>"
                for c in item.get("changes") or []
            )
            rows.append(
                f'<tr class="{action}" data-action="{action}"><td class="action {action}">{action}</td>'
                f"<td><code>{_e(ref)}</code></td><td>{'<ul>' + changes + '</ul>' if changes else ''}</td></tr>"
            )
    unchanged = plan.get("unchanged") or []
    if unchanged:
        names = ", ".join(f"{i['kind']}/{i['name']}" for i in unchanged)
        rows.append(
            f'<tr class="unchanged" data-action="unchanged"><td class="action unchanged">unchanged</td>'
            f'<td colspan="2">{len(unchanged)}: <span class="mono">{_e(names)}</span></td></tr>'
        )
    notes = "".join(f"<li>{_e(n)}</li>" for n in plan.get("notes") or [])
    counts = ", ".join(
        f"{len(plan.get(a) or [])} {a}" for a in ("created", "deleted", "changed", "unchanged")
    )
    return (
        (f"<ul class='notes'>{notes}</ul>" if notes else "")
        + f'<table class="plan"><thead><tr><th>action</th><th>resource</th><th>field changes</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table><p class="muted">{_e(counts)}</p>'
    )


def upgrade_html(upgrade: dict[str, Any]) -> str:
    shown = {shown_verdict(r) for r in upgrade["rules"]}
    verdict = (
        "error"
        if upgrade.get("input_error")
        else next((v for v in ("error", "fail", "warn") if v in shown), "pass")
    )
    frm, to = upgrade["from"], upgrade["to"]
    section = case_anchor("upgrade-" + upgrade["id"])
    helm = upgrade["id"].rsplit("@", 1)[-1]
    out = [
        f'<section class="block upgrade" id="{section}" data-upgrade="{_e(upgrade["id"])}">'
        f'<h3>{_badge(verdict)} {_e(upgrade["pair"])} <span class="muted">{_e(frm["values"])} '
        f"({_e(frm['chart']['name'])} {_e(frm['chart']['version'])}) → {_e(to['values'])} "
        f"({_e(to['chart']['name'])} {_e(to['chart']['version'])}) @ {_e(helm)}</span></h3>"
    ]
    if upgrade.get("description"):
        out.append(f'<p class="muted">{_e(upgrade["description"])}</p>')
    if upgrade.get("input_error"):
        out.append(f'<div class="finding v-error"><strong>{_e(upgrade["input_error"])}</strong></div>')
    if upgrade.get("plan"):
        out.append(plan_html(upgrade["plan"]))
    out.append(rules_html("upgrade-" + upgrade["id"], upgrade["rules"]))
    out.append("</section>")
    return "".join(out)


def live_html(case: dict[str, Any]) -> str:
    failed = any(shown_verdict(r) in ("fail", "error") for r in case["rules"]) or case.get("rollout_error")
    owner = "live-" + case["id"]
    out = [
        f'<section class="block live" id="{case_anchor(owner)}" data-live="{_e(case["id"])}">'
        f'<h3>{_badge("fail" if failed else "pass")} {_e(case["label"])} <span class="muted">namespace '
        f"{_e(case['namespace'])}</span></h3>"
    ]
    if case.get("rollout_error"):
        out.append(f'<div class="finding v-error"><strong>{_e(case["rollout_error"])}</strong></div>')
    hub = case.get("stream_hub")
    if hub:
        out.append(
            f"<h4>stream-hub pods during {_e(hub['description'])}: at most {_e(hub['peak'])} at once</h4>"
            f"{step_chart_svg(hub, case['id'])}"
        )
    lines = case.get("log") or []
    times = list(case.get("log_times") or [])
    if lines:
        rows = "".join(
            f'<tr><td class="t mono">{f"+{times[i]:.1f}s" if i < len(times) else ""}</td>'
            f'<td class="mono">{_e(line)}</td></tr>'
            for i, line in enumerate(lines)
        )
        out.append(f'<h4>Rollout timeline</h4><table class="timeline"><tbody>{rows}</tbody></table>')
    out.append(rules_html(owner, case["rules"]))
    if case.get("diagnostics"):
        out.append(
            f'<details><summary>diagnostics</summary><pre class="mono">{_e(case["diagnostics"])}</pre>'
            "</details>"
        )
    out.append("</section>")
    return "".join(out)


def summary_counts(cases: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in cases:
        verdict = case_verdict(case)
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def html_report(report: dict[str, Any], *, title: str = "QuickMeet.Chat conformance") -> str:
    cases = report.get("cases") or []
    upgrades = report.get("upgrades") or []
    live = (report.get("live") or {}).get("cases") or []
    counts = summary_counts(cases)
    summary = ", ".join(f"{n} {MARKS[v].lower()}" for v, n in sorted(counts.items()))
    nav = [
        '<a href="#matrix">Verdicts</a>' if cases else "",
        '<a href="#cases">Releases</a>' if cases else "",
        '<a href="#upgrades">Upgrades</a>' if upgrades else "",
        '<a href="#live">Live</a>' if live else "",
    ]
    body = [
        f"<header><h1>{_e(title)}</h1><p>{_e(report.get('tool', ''))} {_e(report.get('version', ''))} · "
        f"{len(cases)} static case(s){': ' + _e(summary) if summary else ''} · {len(upgrades)} upgrade(s) · "
        f"{len(live)} live case(s)</p>{verdicts_html(report)}</header><main><nav>{''.join(nav)}</nav>"
    ]
    if cases:
        body.append(
            f'<section class="block" id="matrix"><h2>Verdicts: rules × values files × helm</h2>'
            f'<p class="muted">Each cell links to its finding (expected, found, resource, values file line).'
            f'</p><div style="overflow-x:auto">{matrix_html(cases)}</div></section>'
        )
        drawn_by, helms = shared_diagrams(cases)
        body.append(
            '<div id="cases"><h2>Releases</h2>'
            + "".join(case_html(c, drawn_by.get(c["id"]), helms.get(c["id"])) for c in cases)
            + "</div>"
        )
    if upgrades:
        body.append(
            '<div id="upgrades"><h2>Upgrades</h2>' + "".join(upgrade_html(u) for u in upgrades) + "</div>"
        )
    if live:
        cluster = (report.get("live") or {}).get("cluster") or {}
        body.append(
            f'<div id="live"><h2>Live cases <span class="muted">({_e(cluster.get("provider", ""))} '
            f"{_e(cluster.get('kube_version', ''))})</span></h2>"
            + "".join(live_html(c) for c in live)
            + "</div>"
        )
    body.append("</main>")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


@register
class HtmlReporter(Reporter):
    name = "html"
    order = 50
    cli_flag = "--html"
    cli_help = "also write a self-contained HTML report (each release drawn, the verdict matrix, upgrade plans) to FILE"
    # ``--html`` is pytest-html's option when that plugin is installed: then only --conformance-html
    pytest_option = PytestOption(
        "qmc_html",
        "--conformance-html",
        "QMC_HTML",
        "write a self-contained HTML report: each release drawn, the verdict matrix, upgrade plans, "
        "stream-hub pods over live rollouts",
        "FILE",
        alias="--html",
        alias_owner="pytest_html",
    )

    def render(self, run: ReportRun) -> str:
        return html_report(run.document or {})
