"""``--html report.html``: one self-contained page (inline CSS, pre-rendered inline SVG, no script, no network).

Per static case the release drawn (``graph.py``), the rules x values files x helm matrix with each cell
linking to its finding, each upgrade's plan as a table with its findings, and each live case's stream-hub
pod count as a step chart (limit 1) with the rollout timeline. Everything is read from the report model
(already redacted); nothing is re-evaluated.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

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

SEVERITY_COLOUR = {"error": "#cf222e", "warning": "#9a6700", "info": "#0969da"}
OK_EDGE = "#8c959f"
LIMIT_COLOUR = "#8250df"  # stream-hub's colour: its limit of one pod
COLUMN_ORDER = ("path", "service", "workload", "nats-service", "nats")
COLUMN_TITLE = {
    "path": "Ingress paths",
    "service": "Services",
    "workload": "Workloads",
    "nats-service": "NATS Service (TRANSPORTER)",
    "nats": "NATS",
}

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
.legend span { margin-right: 16px; font-size: 12px; }
.plan td.action { font-weight:600; } .plan .created { color: var(--pass); } .plan .deleted { color: var(--fail); }
.plan .changed { color: var(--warn); } .plan .unchanged { color: var(--skip); }
.timeline td.t { text-align: right; white-space: nowrap; }
.muted { color:#57606a; }
details > summary { cursor: pointer; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _badge(verdict: str) -> str:
    return f'<span class="badge v-{verdict}">{MARKS.get(verdict, verdict.upper())}</span>'


# -- the topology diagram -------------------------------------------------------------------------------
NODE_W, NODE_H, COL_GAP, ROW_GAP, TOP, LANE_GAP = 270, 58, 110, 16, 34, 18


def _clip(text: str, limit: int) -> str:
    """Keep the end of long names (an image's repository and tag matter more than its registry)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _ordered_columns(graph: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Nodes per column, each column ordered by where its nodes' sources sit (fewer crossing edges)."""
    by_column: dict[str, list[dict[str, Any]]] = {c: [] for c in COLUMN_ORDER}
    for node in graph["nodes"]:
        by_column.setdefault(node["column"], []).append(node)
    position: dict[str, float] = {}
    columns = []
    for column in COLUMN_ORDER:
        nodes = by_column.get(column) or []
        if not nodes:
            continue
        sources: dict[str, list[float]] = {}
        for edge in graph["edges"]:
            if edge["source"] in position:
                sources.setdefault(edge["target"], []).append(position[edge["source"]])
        original = {n["id"]: i for i, n in enumerate(nodes)}
        nodes = sorted(
            nodes,
            key=lambda n: (
                sum(sources[n["id"]]) / len(sources[n["id"]])
                if n["id"] in sources
                else 10_000 + original[n["id"]]
            ),
        )
        for i, node in enumerate(nodes):
            position[node["id"]] = i
        columns.append((column, nodes))
    return columns


def _bezier_point(
    p0: tuple[float, float],
    p1: tuple[float, float],
    p2: tuple[float, float],
    p3: tuple[float, float],
    t: float,
) -> tuple[float, float]:
    """A point on the edge near its source, where labels of edges converging on one node do not overlap."""
    u = 1 - t
    return (
        u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
        u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
    )


def _rounded(points: list[tuple[float, float]], radius: float = 8.0) -> str:
    """An orthogonal polyline through ``points`` as a path with rounded corners."""
    d = f"M{points[0][0]:.0f},{points[0][1]:.0f}"
    for (ax, ay), (bx, by), (cx, cy) in zip(points, points[1:], points[2:], strict=False):
        r = min(radius, abs(bx - ax) / 2 + abs(by - ay) / 2, abs(cx - bx) / 2 + abs(cy - by) / 2)
        ux, uy = (bx > ax) - (bx < ax), (by > ay) - (by < ay)
        vx, vy = (cx > bx) - (cx < bx), (cy > by) - (cy < by)
        d += f" L{bx - ux * r:.0f},{by - uy * r:.0f} Q{bx:.0f},{by:.0f} {bx + vx * r:.0f},{by + vy * r:.0f}"
    return d + f" L{points[-1][0]:.0f},{points[-1][1]:.0f}"


def topology_svg(graph: dict[str, Any], case_id: str) -> str:
    """The release drawn in columns, left to right. An edge to the next column is a curve through the gap
    between the two; any other edge (one that skips a column, or runs backwards: a Service the TRANSPORTER
    names that also selects microservice pods) is routed around the boxes: down the gap after its source,
    along a lane of its own below every box, and up the gap before its target. No edge crosses a box."""
    columns = _ordered_columns(graph)
    column_of = {node["id"]: ci for ci, (_, nodes) in enumerate(columns) for node in nodes}
    row_of = {node["id"]: ri for _, nodes in columns for ri, node in enumerate(nodes)}
    edges = [e for e in graph["edges"] if e["source"] in column_of and e["target"] in column_of]
    routed = sorted(
        (e for e in edges if column_of[e["target"]] != column_of[e["source"]] + 1),
        key=lambda e: (
            column_of[e["source"]],
            row_of[e["source"]],
            column_of[e["target"]],
            row_of[e["target"]],
        ),
    )
    # Lower sources take deeper lanes and turn down nearer their column, deeper lanes turn up nearer their
    # target: the routed edges nest instead of crossing one another.
    lane_of = {id(e): i for i, e in enumerate(routed)}
    turn: dict[tuple[str, int], float] = {}
    for end, side in (("source", "out"), ("target", "in")):
        for ci in {column_of[e[end]] for e in routed}:
            members = [e for e in routed if column_of[e[end]] == ci]
            step = (COL_GAP - 60) / max(1, len(members) - 1)  # turns 16 to 66px from the column
            for k, e in enumerate(members):
                turn[(side, id(e))] = 16 + min(COL_GAP - 60, (len(members) - 1 - k) * step)
    # room for the routed edges' vertical runs beside the outer columns, when they start or end there
    left = 20 + (COL_GAP if any(column_of[e["target"]] == 0 for e in routed) else 0)
    right = 20 + (COL_GAP if any(column_of[e["source"]] == len(columns) - 1 for e in routed) else 0)
    place = {
        node_id: (left + column_of[node_id] * (NODE_W + COL_GAP), TOP + row * (NODE_H + ROW_GAP))
        for node_id, row in row_of.items()
    }
    rows = max((len(nodes) for _, nodes in columns), default=1)
    bottom = TOP + rows * (NODE_H + ROW_GAP)
    width = left + len(columns) * (NODE_W + COL_GAP) - COL_GAP + right
    height = bottom + len(routed) * LANE_GAP + 20
    parts = [
        f'<svg class="topology" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="topology of {_e(case_id)}">',
        "<defs>",
    ]
    for name, colour in [("ok", OK_EDGE), *SEVERITY_COLOUR.items()]:
        parts.append(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
            "</marker>"
        )
    parts.append("</defs>")
    for ci, (column, _) in enumerate(columns):
        parts.append(
            f'<text class="column-title" x="{left + ci * (NODE_W + COL_GAP)}" y="20" font-size="13" '
            f'font-weight="600" fill="#57606a">{_e(COLUMN_TITLE.get(column, column))}</text>'
        )
    # edges first, nodes drawn over them; a fan of wrong edges from one node for one finding is labelled once
    labelled: set[tuple[str, str, int, str]] = set()
    for edge in edges:
        sx, sy = place[edge["source"]]
        tx, ty = place[edge["target"]]
        x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2, tx, ty + NODE_H / 2
        lane = lane_of.get(id(edge))
        if lane is None:
            bend = max(40.0, (x2 - x1) / 2)
            d = f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            mx, my = _bezier_point((x1, y1), (x1 + bend, y1), (x2 - bend, y2), (x2, y2), 0.3)
            anchor = "middle"
        else:
            out_x, in_x = x1 + turn[("out", id(edge))], x2 - turn[("in", id(edge))]
            lane_y = bottom + (lane + 0.5) * LANE_GAP
            d = _rounded([(x1, y1), (out_x, y1), (out_x, lane_y), (in_x, lane_y), (in_x, y2), (x2, y2)])
            mx, my, anchor = (
                out_x + 10 if in_x > out_x else out_x - 10,
                lane_y + 1,
                "start" if in_x > out_x else "end",
            )
        wrong = edge.get("wrong")
        data = f'data-source="{_e(edge["source"])}" data-target="{_e(edge["target"])}"' + (
            ' data-routed="below"' if lane is not None else ""
        )
        if wrong:
            colour = SEVERITY_COLOUR.get(wrong["severity"], SEVERITY_COLOUR["error"])
            href = "#" + finding_anchor(case_id, wrong["rule_id"], wrong["index"])
            label = f"✗ {edge['label']}".strip()
            key = (edge["source"], wrong["rule_id"], int(wrong["index"]), label)
            text = (
                f'<text x="{mx:.0f}" y="{my - 5:.0f}" text-anchor="{anchor}" font-size="12" font-weight="700" '
                f'fill="{colour}" paint-order="stroke" stroke="#fff" stroke-width="3">{_e(label)}</text>'
                if key not in labelled or lane is not None
                else ""
            )
            labelled.add(key)
            parts.append(
                f'<a href="{href}"><g class="edge wrong sev-{_e(wrong["severity"])}" {data} '
                f'data-rule="{_e(wrong["rule_id"])}" data-finding="{_e(href[1:])}">'
                f"<title>{_e(wrong['rule_id'])}: {_e(wrong['message'])}</title>"
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="3" stroke-dasharray="7 4" '
                f'marker-end="url(#arrow-{_e(wrong["severity"])})"/>{text}</g></a>'
            )
        else:
            parts.append(
                f'<g class="edge" {data}><path d="{d}" fill="none" stroke="{OK_EDGE}" stroke-width="1.5" '
                f'marker-end="url(#arrow-ok)"/>'
                + (
                    f'<text x="{mx:.0f}" y="{my - 4:.0f}" text-anchor="{anchor}" font-size="11" '
                    f'fill="#57606a" paint-order="stroke" stroke="#fff" stroke-width="3">{_e(edge["label"])}</text>'
                    if edge["label"]
                    else ""
                )
                + "</g>"
            )
    for _, nodes in columns:
        for node in nodes:
            x, y = place[node["id"]]
            classes = (
                ["node", f"col-{node['column']}"]
                + (["stream-hub"] if node["stream_hub"] else [])
                + (["missing"] if node["missing"] else [])
            )
            fill, stroke, dash = "#ffffff", "#57606a", ""
            if node["stream_hub"]:
                fill, stroke = "#fbefff", "#8250df"
            if node["missing"]:
                fill, stroke, dash = "#fff5f5", SEVERITY_COLOUR["error"], ' stroke-dasharray="5 3"'
            elif node["column"] in ("nats-service", "nats"):
                fill = "#ddf4ff"
            details = [d for d in str(node["detail"]).split(" · ") if d][:2]
            parts.append(
                f'<g class="{" ".join(classes)}" data-id="{_e(node["id"])}" data-component="{_e(node["component"])}">'
                f"<title>{_e(node['label'])}{'&#10;' + _e(node['detail']) if node['detail'] else ''}</title>"
                f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{2.5 if node["stream_hub"] else 1.2}"{dash}/>'
                f'<text x="{x + 10}" y="{y + 18}" font-size="13" font-weight="600" fill="#1f2328">'
                f"{_e(_clip(node['label'], 34))}</text>"
            )
            for li, line in enumerate(details):
                parts.append(
                    f'<text x="{x + 10}" y="{y + 34 + li * 14}" font-size="11" fill="#57606a">'
                    f"{_e(_clip(line, 42))}</text>"
                )
            if node["stream_hub"]:
                parts.append(
                    f'<text class="stream-hub-mark" x="{x + NODE_W}" y="{y - 3}" text-anchor="end" '
                    f'font-size="11" font-weight="700" fill="#8250df">stream-hub · max 1</text>'
                )
            parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


LEGEND = (
    '<p class="legend"><span><svg width="34" height="8"><line x1="0" y1="4" x2="34" y2="4" stroke="#8c959f" '
    'stroke-width="1.5"/></svg> wired as the contract says</span>'
    '<span><svg width="34" height="8"><line x1="0" y1="4" x2="34" y2="4" stroke="#cf222e" stroke-width="3" '
    'stroke-dasharray="7 4"/></svg> wrong (error finding; click it)</span>'
    '<span><svg width="34" height="8"><line x1="0" y1="4" x2="34" y2="4" stroke="#9a6700" stroke-width="3" '
    'stroke-dasharray="7 4"/></svg> wrong (warning finding)</span>'
    '<span style="color:#8250df;font-weight:600">stream-hub: never more than one pod</span></p>'
)


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
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows if v)
    return (
        f'<div class="finding sev-{_e(finding["severity"])} v-{_e(finding["verdict"])}" id="{anchor_id}">'
        f"<strong>{_e(finding['message'])}</strong><dl>{body}</dl></div>"
    )


SHOWN_ORDER = {"error": 0, "fail": 1, "warn": 2}  # what blocks the run first, then warnings, then the rest


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
            f'<p class="muted">Contract: {_e(rule["contract"])}. Fix: {_e(rule["fix"])}</p>'
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
        out.append(f'<div class="diagram">{topology_svg(case["graph"], case["id"])}</div>{LEGEND}')
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


def step_chart_svg(hub: dict[str, Any], owner: str) -> str:
    """Pods of stream-hub existing at once over the watched rollout, as steps, with the limit of 1 drawn."""
    points = [
        (float(p["t"]), int(p["count"]), str(p["event"]), str(p["pod"])) for p in hub.get("points") or []
    ]
    width, height, left, right, top, bottom = 760, 240, 50, 20, 20, 40
    end = max([t for t, *_ in points] + [1.0]) * 1.05
    top_count = max([c for _, c, *_ in points] + [int(hub.get("peak") or 0), 2]) + 1

    def sx(t: float) -> float:
        return left + (width - left - right) * t / end

    def sy(c: float) -> float:
        return height - bottom - (height - top - bottom) * c / top_count

    parts = [
        f'<svg class="step-chart" data-case="{_e(owner)}" data-peak="{_e(hub.get("peak"))}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="stream-hub pods over the rollout">'
    ]
    for c in range(top_count + 1):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(c):.1f}" y2="{sy(c):.1f}" stroke="#eaeef2"/>'
            f'<text x="{left - 8}" y="{sy(c) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#57606a">{c}</text>'
        )
    for i in range(6):
        t = end * i / 5
        parts.append(
            f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="#57606a">{t:.1f}s</text>'
        )
    parts.append(
        f'<text x="{(left + width) / 2:.0f}" y="{height - 6}" text-anchor="middle" font-size="11" '
        f'fill="#57606a">seconds since the watch started</text>'
    )
    # the limit is drawn over the steps, in the stream-hub colour: a count sitting at 1 would otherwise
    # hide it under the step line
    limit = (
        f'<line class="limit" x1="{left}" x2="{width - right}" y1="{sy(1):.1f}" y2="{sy(1):.1f}" '
        f'stroke="{LIMIT_COLOUR}" stroke-width="2" stroke-dasharray="6 4"/>'
        f'<line x1="{width - right - 190}" x2="{width - right - 160}" y1="{top + 4}" y2="{top + 4}" '
        f'stroke="{LIMIT_COLOUR}" stroke-width="2" stroke-dasharray="6 4"/><text x="{width - right - 154}" '
        f'y="{top + 8}" font-size="11" fill="{LIMIT_COLOUR}">limit: 1 stream-hub pod</text>'
    )
    if points:
        d = f"M{sx(0):.1f},{sy(points[0][1]):.1f}"
        for t, c, _, _ in points:
            d += f" H{sx(t):.1f} V{sy(c):.1f}"
        d += f" H{sx(end):.1f}"
        over = max(c for _, c, *_ in points) > 1
        parts.append(
            f'<path class="steps" d="{d}" fill="none" stroke="{"#cf222e" if over else "#1a7f37"}" '
            f'stroke-width="2.5"/>'
        )
        parts.append(limit)  # over the steps, under the event dots
        for t, c, event, pod in points:
            colour = "#cf222e" if c > 1 else "#1a7f37"
            parts.append(
                f'<circle class="event" cx="{sx(t):.1f}" cy="{sy(c):.1f}" r="3.5" fill="{colour}" '
                f'data-count="{c}"><title>+{t:.2f}s {_e(event)} {_e(pod)} ({c} exist)</title></circle>'
            )
    else:
        parts.append(
            f'<text x="{left + 10}" y="{sy(0) - 10:.1f}" font-size="12" fill="#57606a">no stream-hub pod '
            "was watched</text>"
        )
        parts.append(limit)
    parts.append("</svg>")
    return "".join(parts)


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
        f"{len(live)} live case(s)</p></header><main><nav>{''.join(nav)}</nav>"
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
