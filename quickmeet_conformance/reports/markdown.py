"""The Markdown report (``--markdown report.md``, both routes): the HTML report's content as GitHub-flavoured
Markdown for ``$GITHUB_STEP_SUMMARY``.

Diagrams are Mermaid (``flowchart`` for each release from ``graph.py``, ``xychart-beta`` for the stream-hub
pod count); the matrix is a table whose cells link to their findings. Read from the report model only.
"""

from __future__ import annotations

import re
from typing import Any

from .diagrams import COLUMN_ORDER, COLUMN_TITLE, OK_EDGE, SEVERITY_COLOUR
from .html import SHOWN_ORDER, shared_diagrams, summary_counts
from .matrix import (
    MARKS,
    case_anchor,
    case_verdict,
    failed_findings,
    finding_anchor,
    rule_anchor,
    shown_finding,
    shown_verdict,
    verdict_matrix,
    where,
)
from .reporter import PytestOption, Reporter, ReportRun, register

ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "accepted": "☑️", "skip": "⏭️", "error": "💥", "none": ""}


def _mark(verdict: str) -> str:
    return f"{ICON[verdict]} {MARKS[verdict]}".strip()


def _cell(text: Any) -> str:
    """Text safe inside a table cell or a list item (no pipes, no line breaks, no raw HTML)."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", "")
        .replace("\n", "<br>")
    )


def _code(text: Any) -> str:
    value = str(text).replace("\r", "").replace("\n", " ⏎ ").replace("|", "\\|")
    fence = "``" if "`" in value else "`"
    return f"{fence} {value} {fence}" if fence == "``" else f"`{value}`"


def _mermaid_text(text: Any) -> str:
    """A Mermaid label in double quotes: quotes and angle brackets as Mermaid entity codes."""
    return (
        str(text)
        .replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )


def mermaid_flowchart(graph: dict[str, Any]) -> str:
    ids = {node["id"]: f"n{i}" for i, node in enumerate(graph["nodes"])}
    lines = ["flowchart LR"]
    for ci, column in enumerate(COLUMN_ORDER):
        nodes = [n for n in graph["nodes"] if n["column"] == column]
        if not nodes:
            continue
        lines.append(f'  subgraph c{ci}["{_mermaid_text(COLUMN_TITLE[column])}"]')
        for node in nodes:
            details = " · ".join(d for d in str(node["detail"]).split(" · ") if d)
            label = _mermaid_text(node["label"]) + (
                f"<br/><small>{_mermaid_text(details)}</small>" if details else ""
            )
            if node["stream_hub"]:
                label += "<br/><b>stream-hub · max 1</b>"
            lines.append(f'    {ids[node["id"]]}["{label}"]')
        lines.append("  end")
    styles = []
    for index, edge in enumerate(e for e in graph["edges"] if e["source"] in ids and e["target"] in ids):
        source, target = ids[edge["source"]], ids[edge["target"]]
        wrong = edge.get("wrong")
        if wrong:
            label = _mermaid_text(f"✗ {edge['label']} ({wrong['rule_id']})")
            lines.append(f'  {source} -.->|"{label}"| {target}')
            colour = SEVERITY_COLOUR.get(wrong["severity"], SEVERITY_COLOUR["error"])
            styles.append(f"  linkStyle {index} stroke:{colour},stroke-width:3px,color:{colour}")
        elif edge["label"]:
            lines.append(f'  {source} -->|"{_mermaid_text(edge["label"])}"| {target}')
        else:
            lines.append(f"  {source} --> {target}")
    lines += styles
    if not styles:
        lines.append(f"  linkStyle default stroke:{OK_EDGE}")
    lines.append("  classDef streamhub fill:#fbefff,stroke:#8250df,stroke-width:3px")
    lines.append(f"  classDef missing fill:#fff5f5,stroke:{SEVERITY_COLOUR['error']},stroke-dasharray:5 3")
    lines.append("  classDef nats fill:#ddf4ff,stroke:#57606a")
    for cls, match in (
        ("streamhub", lambda n: n["stream_hub"]),
        ("missing", lambda n: n["missing"]),
        ("nats", lambda n: n["column"] in ("nats-service", "nats") and not n["missing"]),
    ):
        members = [ids[n["id"]] for n in graph["nodes"] if match(n)]
        if members:
            lines.append(f"  class {','.join(members)} {cls}")
    return "\n".join(lines)


def _anchor(anchor_id: str) -> str:
    return f'<a id="{anchor_id}"></a>'


def finding_md(finding: dict[str, Any], anchor_id: str, shown: str) -> list[str]:
    """One failed finding, marked by ``shown``: its status in the run (``matrix.shown_finding``)."""
    icon = ICON[shown]
    out = [f"{_anchor(anchor_id)}{icon} **{_cell(finding['message'])}**", ""]
    resource = (finding.get("resource") or "") + (
        f".{finding['field_path']}" if finding.get("field_path") else ""
    )
    for name, value in [
        ("expected", finding.get("expected")),
        ("found", finding.get("found")),
        ("resource", resource),
        ("where", where(finding)),
        *(finding.get("evidence") or []),
    ]:
        if value:
            out.append(f"- {_cell(name)}: {_code(value)}")
    out += _verdict_md(finding)
    out.append("")
    return out


def _verdict_md(finding: dict[str, Any]) -> list[str]:
    """Who fixes the finding (values or chart, with the chart's workaround) and the waiver that names it."""
    out = []
    fixed_by = finding.get("fixed_by")
    if fixed_by:
        out.append(f"- fixed by: **{fixed_by['kind']}**: {_cell(fixed_by['text'])}")
        if fixed_by["kind"] == "chart" and fixed_by.get("workaround"):
            out += [
                "- workaround:",
                "",
                "  ```yaml",
                *(f"  {line}" for line in fixed_by["workaround"].splitlines()),
            ]
            out += ["  ```", ""]
    waiver = finding.get("waiver")
    if waiver:
        state = "expired on" if waiver["expired"] else "accepted until"
        out.append(
            f"- waiver: {state} {waiver['expires']} ({_cell(waiver['source'])}): {_cell(waiver['reason'])}"
        )
    return out


def verdicts_md(report: dict[str, Any]) -> list[str]:
    """The run's split by fixer and what the waivers did, each unmatched waiver named."""
    verdicts = report.get("verdicts") or {}
    fixers, waivers = verdicts.get("fixed_by") or {}, verdicts.get("waivers") or {}
    out = []
    if fixers.get("values") or fixers.get("chart"):
        out.append(
            f"Failed findings fixed in the values: {fixers.get('values', 0)}; only in the chart (no values key "
            f"changes them): {fixers.get('chart', 0)}."
        )
    if waivers.get("given"):
        out.append(
            f"Waivers: {waivers['given']} given, {waivers['accepted']} finding(s) accepted, "
            f"{waivers['expired']} failing on an expired waiver."
        )
        out += [
            f"- waiver matches no finding: {_cell(w['source'])} (rule `{w['rule']}`, target `{w['target']}`)"
            for w in waivers.get("unmatched") or []
        ]
    return out + [""] if out else []


def rules_md(owner_id: str, rules: list[dict[str, Any]], *, strict: bool = False) -> list[str]:
    out, passing = [], []
    for rule in sorted(rules, key=lambda r: SHOWN_ORDER.get(shown_verdict(r, strict=strict), 9)):
        verdict = shown_verdict(rule, strict=strict)
        if verdict in ("pass", "skip"):
            reason = (
                rule["findings"][0]["message"] if verdict == "skip" and rule["findings"] else rule["title"]
            )
            passing.append(
                f"| {_anchor(rule_anchor(owner_id, rule['id']))}{_mark(verdict)} | `{rule['id']}` | "
                f"{_cell(reason)} |"
            )
            continue
        values_fix = any((f.get("fixed_by") or {}).get("kind") != "chart" for f in failed_findings(rule))
        out += [
            f"{_anchor(rule_anchor(owner_id, rule['id']))}**{_mark(verdict)} `{rule['id']}`**: "
            f"{_cell(rule['title'])}."
            + (f" Fix: {_cell(rule['fix'])}" if values_fix else "")
            + (f" Docs: <{rule['doc']}>" if rule.get("doc") else ""),
            "",
        ]
        for i, finding in enumerate(failed_findings(rule)):
            shown = shown_finding(finding, rule["id"], strict=strict)
            out += finding_md(finding, finding_anchor(owner_id, rule["id"], i), shown)
    if passing:
        out += [
            f"<details><summary>{len(passing)} rules pass or do not apply</summary>",
            "",
            "| verdict | rule | |",
            "|---|---|---|",
            *passing,
            "",
            "</details>",
            "",
        ]
    return out


def matrix_md(cases: list[dict[str, Any]], *, strict: bool = False) -> list[str]:
    matrix = verdict_matrix(cases, strict=strict)
    columns = [(v, h) for v in matrix.values_files for h in matrix.helms]
    header = "| rule | " + " | ".join(f"{_cell(v)}<br>{_cell(h)}" for v, h in columns) + " |"
    lines = [header, "|---|" + "---|" * len(columns)]
    for rule_id in matrix.rules:
        cells = []
        for values, helm in columns:
            cell = matrix.cell(rule_id, values, helm)
            cells.append("-" if cell is None else f"[{_mark(cell.verdict)}](#{cell.href})")
        lines.append(f"| `{rule_id}` | " + " | ".join(cells) + " |")
    return lines + [""]


def case_md(
    case: dict[str, Any], *, strict: bool = False, drawn_by: str | None = None, helms: list[str] | None = None
) -> list[str]:
    """One release: heading, its Mermaid diagram (or a link to the identical one another helm drew), rules."""
    chart = case["chart"]
    out = [
        f"{_anchor(case_anchor(case['id']))}",
        "",
        f"### {_mark(case_verdict(case, strict=strict))} {_cell(case['values_file'])} "
        f"@ {_cell(case['id'].rsplit('@', 1)[-1])}",
        "",
        f"chart {_cell(chart['name'])} {_cell(chart['version'])} (app {_cell(chart['app_version'])}), release "
        f"{_cell(case['release'])} in {_cell(case['namespace'])}",
        "",
    ]
    if case.get("input_error"):
        return out + [f"{ICON['error']} {_cell(case['input_error'])}", ""]
    if case.get("graph") and drawn_by not in (None, case["id"]):
        helm = drawn_by.rsplit("@", 1)[-1]
        out += [f"Topology identical to [{helm}'s render](#{case_anchor(drawn_by)}), drawn there once.", ""]
    elif case.get("graph"):
        if helms and len(helms) > 1:
            out += [f"**Topology · {', '.join(helms)}** (identical renders, drawn once)", ""]
        out += [
            "```mermaid",
            mermaid_flowchart(case["graph"]),
            "```",
            "",
            "Dotted coloured arrows are wrong: red for an error finding, amber for a warning.",
            "",
        ]
    return out + rules_md(case["id"], case["rules"], strict=strict)


def plan_md(plan: dict[str, Any]) -> list[str]:
    out = [f"> ℹ️ {_cell(note)}" for note in plan.get("notes") or []]
    out += [""] if out else []
    out += ["| action | resource | field changes |", "|---|---|---|"]
    for action in ("created", "deleted", "changed"):
        for item in plan.get(action) or []:
            changes = "<br>".join(
                f"{_code(c['path'])}: {_cell(c['old'])} → {_cell(c['new'])}"
                for c in item.get("changes") or []
            )
            out.append(f"| {action} | `{item['kind']}/{item['name']}` | {changes} |")
    unchanged = plan.get("unchanged") or []
    if unchanged:
        out.append(
            f"| unchanged | {len(unchanged)}: "
            + ", ".join(f"`{i['kind']}/{i['name']}`" for i in unchanged)
            + " | |"
        )
    return out + [""]


def upgrade_md(upgrade: dict[str, Any], *, strict: bool = False) -> list[str]:
    shown = {shown_verdict(r, strict=strict) for r in upgrade["rules"]}
    verdict = (
        "error"
        if upgrade.get("input_error")
        else next((v for v in ("error", "fail", "warn") if v in shown), "pass")
    )
    frm, to = upgrade["from"], upgrade["to"]
    owner = "upgrade-" + upgrade["id"]
    out = [
        _anchor(case_anchor(owner)),
        "",
        f"### {_mark(verdict)} {_cell(upgrade['pair'])} @ {_cell(upgrade['id'].rsplit('@', 1)[-1])}",
        "",
        f"{_cell(frm['values'])} ({_cell(frm['chart']['name'])} {_cell(frm['chart']['version'])}) → "
        f"{_cell(to['values'])} ({_cell(to['chart']['name'])} {_cell(to['chart']['version'])})",
        "",
    ]
    if upgrade.get("input_error"):
        out += [f"{ICON['error']} {_cell(upgrade['input_error'])}", ""]
    if upgrade.get("plan"):
        out += plan_md(upgrade["plan"])
    return out + rules_md(owner, upgrade["rules"], strict=strict)


def hub_chart_md(hub: dict[str, Any]) -> list[str]:
    """The stream-hub pod count after each watched event as bars, the limit of 1 as a line."""
    points = hub.get("points") or []
    if not points:
        return ["No stream-hub pod was watched.", ""]
    labels = ", ".join(f'"+{float(p["t"]):.1f}s"' for p in points)
    counts = ", ".join(str(int(p["count"])) for p in points)
    top = max([int(p["count"]) for p in points] + [2]) + 1
    title = _mermaid_text(f"stream-hub pods at once (limit 1) during {hub['description']}")
    return [
        "```mermaid",
        "xychart-beta",
        f'  title "{title}"',
        f"  x-axis [{labels}]",
        f'  y-axis "pods" 0 --> {top}',
        f"  bar [{counts}]",
        f"  line [{', '.join('1' for _ in points)}]",
        "```",
        "",
    ]


def live_md(case: dict[str, Any], *, strict: bool = False) -> list[str]:
    failed = any(shown_verdict(r, strict=strict) in ("fail", "error") for r in case["rules"]) or case.get(
        "rollout_error"
    )
    owner = "live-" + case["id"]
    out = [
        _anchor(case_anchor(owner)),
        "",
        f"### {_mark('fail' if failed else 'pass')} {_cell(case['label'])}",
        "",
    ]
    if case.get("rollout_error"):
        out += [f"{ICON['error']} {_cell(case['rollout_error'])}", ""]
    hub = case.get("stream_hub")
    if hub:
        out += [f"stream-hub pods during {_cell(hub['description'])}: **at most {hub['peak']} at once**", ""]
        out += hub_chart_md(hub)
    lines = case.get("log") or []
    times = list(case.get("log_times") or [])
    if lines:
        out += ["<details><summary>Rollout timeline</summary>", "", "| t | step |", "|---:|---|"]
        out += [
            f"| {f'+{times[i]:.1f}s' if i < len(times) else ''} | {_cell(line)} |"
            for i, line in enumerate(lines)
        ]
        out += ["", "</details>", ""]
    return out + rules_md(owner, case["rules"], strict=strict)


def markdown_report(report: dict[str, Any], *, title: str = "QuickMeet.Chat conformance") -> str:
    cases = report.get("cases") or []
    upgrades = report.get("upgrades") or []
    live = (report.get("live") or {}).get("cases") or []
    strict = bool(report.get("strict"))  # the run's: what a status missing from the model is judged under
    counts = summary_counts(cases)
    summary = ", ".join(f"{n} {_mark(v)}" for v, n in sorted(counts.items()))
    out = [
        f"## {title}",
        "",
        f"{report.get('tool', '')} {report.get('version', '')}: {len(cases)} static case(s)"
        f"{' (' + summary + ')' if summary else ''}, {len(upgrades)} upgrade(s), {len(live)} live case(s)",
        "",
        *verdicts_md(report),
    ]
    if cases:
        out += ["### Verdicts: rules × values files × helm", "", "Each cell links to its finding.", ""]
        out += matrix_md(cases, strict=strict)
        out += ["### Releases", ""]
        drawn_by, helms = shared_diagrams(cases)
        for case in cases:
            owner = drawn_by.get(case["id"])
            out += case_md(case, strict=strict, drawn_by=owner, helms=helms.get(case["id"]))
    if upgrades:
        out += ["### Upgrades", ""]
        for upgrade in upgrades:
            out += upgrade_md(upgrade, strict=strict)
    if live:
        out += ["### Live cases", ""]
        for case in live:
            out += live_md(case, strict=strict)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).rstrip("\n") + "\n"


@register
class MarkdownReporter(Reporter):
    name = "markdown"
    order = 60
    cli_flag = "--markdown"
    cli_help = (
        "also write the report as GitHub Markdown with Mermaid "
        "diagrams to FILE (append it to $GITHUB_STEP_SUMMARY)"
    )
    pytest_option = PytestOption(
        "qmc_markdown",
        "--markdown",
        "QMC_MARKDOWN",
        "write the same report as GitHub-flavoured Markdown with Mermaid diagrams (for $GITHUB_STEP_SUMMARY)",
        "FILE",
    )

    def render(self, run: ReportRun) -> str:
        return markdown_report(run.document or {})
