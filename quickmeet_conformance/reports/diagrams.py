"""The SVG drawings of the HTML report: each release's topology in columns, and the stream-hub pod count over
a live rollout as a step chart. Inline SVG with no script, drawn from the report model only; the colours
here are the Markdown report's too.
"""

from __future__ import annotations

import html
from typing import Any

from .matrix import finding_anchor

SEVERITY_COLOUR = {"error": "#cf222e", "warning": "#9a6700", "info": "#0969da"}
OK_EDGE = "#8c959f"
LIMIT_COLOUR = "#8250df"  # stream-hub's colour: its limit of one pod
COLUMN_ORDER = ("path", "service", "workload", "nats-service", "mongo-service", "nats", "mongodb")
COLUMN_TITLE = {
    "path": "Ingress paths",
    "service": "Services",
    "workload": "Workloads",
    "nats-service": "NATS Service (TRANSPORTER)",
    "mongo-service": "MongoDB Service (MONGO_URL)",
    "nats": "NATS",
    "mongodb": "MongoDB",
}
# Where each column is drawn: the MongoDB columns share the NATS ones (below them), so the release fits five
# columns wide, a 1400px page (tests/reports/test_visual_reports.py measures it).
SLOT = {
    "path": 0,
    "service": 1,
    "workload": 2,
    "nats-service": 3,
    "mongo-service": 3,
    "nats": 4,
    "mongodb": 4,
}
SLOT_TITLE = {(3, True, True): "NATS · MongoDB Services", (4, True, True): "NATS · MongoDB"}


def escape(value: Any) -> str:
    """Text or an attribute value, escaped for HTML and SVG."""
    return html.escape(str(value), quote=True)


# -- the topology diagram -------------------------------------------------------------------------------
# five columns of NODE_W with COL_GAP between them and MARGIN beside: 1280px, inside a 1400px page's report
NODE_W, NODE_H, COL_GAP, ROW_GAP, TOP, LANE_GAP, MARGIN = 204, 58, 60, 16, 34, 18, 10
LABEL_CHARS, DETAIL_CHARS = 24, 30  # what fits NODE_W at 12px bold and 11px


def _clip(text: str, limit: int) -> str:
    """Keep the end of long names (an image's repository and tag matter more than its registry)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _slot_title(column_ids: list[str]) -> str:
    """A drawn column's title: its one column's, or the shared title when NATS and MongoDB share it."""
    if len(column_ids) == 1:
        return COLUMN_TITLE.get(column_ids[0], column_ids[0])
    return SLOT_TITLE.get((SLOT[column_ids[0]], True, True), " · ".join(COLUMN_TITLE[c] for c in column_ids))


def _ordered_columns(graph: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Nodes per drawn column (title, nodes), each column ordered by where its nodes' sources sit (fewer
    crossing edges); the MongoDB nodes of a column shared with NATS come after the NATS ones."""
    by_column: dict[str, list[dict[str, Any]]] = {c: [] for c in COLUMN_ORDER}
    for node in graph["nodes"]:
        by_column.setdefault(node["column"], []).append(node)
    slots: dict[int, list[str]] = {}
    for column in by_column:
        if by_column[column]:
            slots.setdefault(SLOT.get(column, len(SLOT)), []).append(column)
    position: dict[str, float] = {}
    columns = []
    for slot in sorted(slots):
        ordered: list[dict[str, Any]] = []
        for column in slots[slot]:
            nodes = by_column[column]
            sources: dict[str, list[float]] = {}
            for edge in graph["edges"]:
                if edge["source"] in position:
                    sources.setdefault(edge["target"], []).append(position[edge["source"]])
            original = {n["id"]: i for i, n in enumerate(nodes)}
            ordered += sorted(
                nodes,
                key=lambda n: (
                    sum(sources[n["id"]]) / len(sources[n["id"]])
                    if n["id"] in sources
                    else 10_000 + original[n["id"]]
                ),
            )
        for i, node in enumerate(ordered):
            position[node["id"]] = i
        columns.append((_slot_title(slots[slot]), ordered))
    return columns


def _fits_gap(label: str) -> bool:
    """Whether an edge label (11px) fits the gap between two columns; a longer one of an edge drawn as the
    contract says is its tooltip only (the colours and the column titles say what it is)."""
    return len(label) * 6.5 <= COL_GAP - 8


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
            spread = COL_GAP - 24
            step = spread / max(1, len(members) - 1)  # turns 12 to COL_GAP - 12 px from the column
            for k, e in enumerate(members):
                turn[(side, id(e))] = 12 + min(spread, (len(members) - 1 - k) * step)
    # room for the routed edges' vertical runs beside the outer columns, when they start or end there
    left = MARGIN + (COL_GAP if any(column_of[e["target"]] == 0 for e in routed) else 0)
    right = MARGIN + (COL_GAP if any(column_of[e["source"]] == len(columns) - 1 for e in routed) else 0)
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
        f'viewBox="0 0 {width} {height}" role="img" aria-label="topology of {escape(case_id)}">',
        "<defs>",
    ]
    for name, colour in [("ok", OK_EDGE), *SEVERITY_COLOUR.items()]:
        parts.append(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
            "</marker>"
        )
    parts.append("</defs>")
    for ci, (title, _) in enumerate(columns):
        parts.append(
            f'<text class="column-title" x="{left + ci * (NODE_W + COL_GAP)}" y="20" font-size="13" '
            f'font-weight="600" fill="#57606a">{escape(title)}</text>'
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
        data = f'data-source="{escape(edge["source"])}" data-target="{escape(edge["target"])}"' + (
            ' data-routed="below"' if lane is not None else ""
        )
        if wrong:
            colour = SEVERITY_COLOUR.get(wrong["severity"], SEVERITY_COLOUR["error"])
            href = "#" + finding_anchor(case_id, wrong["rule_id"], wrong["index"])
            label = f"✗ {edge['label']}".strip() if lane is not None or _fits_gap(edge["label"]) else "✗"
            key = (edge["source"], wrong["rule_id"], int(wrong["index"]), label)
            text = (
                f'<text x="{mx:.0f}" y="{my - 5:.0f}" text-anchor="{anchor}" font-size="12" font-weight="700" '
                f'fill="{colour}" paint-order="stroke" stroke="#fff" stroke-width="3">{escape(label)}</text>'
                if key not in labelled or lane is not None
                else ""
            )
            labelled.add(key)
            parts.append(
                f'<a href="{href}"><g class="edge wrong sev-{escape(wrong["severity"])}" {data} '
                f'data-rule="{escape(wrong["rule_id"])}" data-finding="{escape(href[1:])}">'
                f"<title>{escape(wrong['rule_id'])}: {escape(wrong['message'])}</title>"
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="3" stroke-dasharray="7 4" '
                f'marker-end="url(#arrow-{escape(wrong["severity"])})"/>{text}</g></a>'
            )
        else:
            parts.append(
                f'<g class="edge" {data}>'
                + (f"<title>{escape(edge['label'])}</title>" if edge["label"] else "")
                + f'<path d="{d}" fill="none" stroke="{OK_EDGE}" stroke-width="1.5" marker-end="url(#arrow-ok)"/>'
                + (
                    f'<text x="{mx:.0f}" y="{my - 4:.0f}" text-anchor="{anchor}" font-size="11" '
                    f'fill="#57606a" paint-order="stroke" stroke="#fff" stroke-width="3">{escape(edge["label"])}</text>'
                    if edge["label"] and (lane is not None or _fits_gap(edge["label"]))
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
            elif node["column"] in ("mongo-service", "mongodb"):
                fill = "#dafbe1"
            details = [d for d in str(node["detail"]).split(" · ") if d][:2]
            parts.append(
                f'<g class="{" ".join(classes)}" data-id="{escape(node["id"])}" '
                f'data-component="{escape(node["component"])}">'
                f"<title>{escape(node['label'])}{'&#10;' + escape(node['detail']) if node['detail'] else ''}</title>"
                f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{2.5 if node["stream_hub"] else 1.2}"{dash}/>'
                f'<text x="{x + 10}" y="{y + 18}" font-size="12" font-weight="600" fill="#1f2328">'
                f"{escape(_clip(node['label'], LABEL_CHARS))}</text>"
            )
            for li, line in enumerate(details):
                parts.append(
                    f'<text x="{x + 10}" y="{y + 34 + li * 14}" font-size="11" fill="#57606a">'
                    f"{escape(_clip(line, DETAIL_CHARS))}</text>"
                )
            if node["stream_hub"]:
                parts.append(
                    f'<text class="stream-hub-mark" x="{x + NODE_W}" y="{y - 3}" text-anchor="end" '
                    f'font-size="11" font-weight="700" fill="#8250df">stream-hub · max 1</text>'
                )
            parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _legend_line(stroke: str, width: float, dash: str = "") -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<svg width="34" height="8"><line x1="0" y1="4" x2="34" y2="4" stroke="{stroke}" '
        f'stroke-width="{width}"{extra}/></svg>'
    )


def legend_html(graph: dict[str, Any]) -> str:
    """The legend of one diagram: only what it draws (no stream-hub entry for a chart without stream-hub,
    no wrong-edge entries when no edge is wrong, MongoDB's only when its connections are drawn)."""
    severities = {(e.get("wrong") or {}).get("severity") for e in graph["edges"]}
    columns = {n["column"] for n in graph["nodes"]}
    entries = []
    if any(not e.get("wrong") for e in graph["edges"]):
        entries.append(f"{_legend_line(OK_EDGE, 1.5)} wired as the contract says")
    if "error" in severities:
        entries.append(f"{_legend_line(SEVERITY_COLOUR['error'], 3, '7 4')} wrong (error finding; click it)")
    if "warning" in severities:
        entries.append(
            f"{_legend_line(SEVERITY_COLOUR['warning'], 3, '7 4')} wrong (warning finding; click it)"
        )
    if columns & {"nats-service", "nats"}:
        entries.append('<span class="swatch" style="background:#ddf4ff"></span> NATS: the bus (TRANSPORTER)')
    if columns & {"mongo-service", "mongodb"}:
        entries.append(
            '<span class="swatch" style="background:#dafbe1"></span> MongoDB: each MONGO_URL as the driver '
            "reads it (connections.mongo-* rules)"
        )
    if any(n["missing"] for n in graph["nodes"]):
        entries.append(
            f'<span class="swatch" style="border:1.5px dashed {SEVERITY_COLOUR["error"]}"></span> '
            "named, but not in the release"
        )
    if any(n["stream_hub"] for n in graph["nodes"]):
        entries.append(
            '<span style="color:#8250df;font-weight:600">stream-hub: never more than one pod</span>'
        )
    return '<p class="legend">' + "".join(f"<span>{e}</span>" for e in entries) + "</p>"


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
        f'<svg class="step-chart" data-case="{escape(owner)}" data-peak="{escape(hub.get("peak"))}" '
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
                f'data-count="{c}"><title>+{t:.2f}s {escape(event)} {escape(pod)} ({c} exist)</title></circle>'
            )
    else:
        parts.append(
            f'<text x="{left + 10}" y="{sy(0) - 10:.1f}" font-size="12" fill="#57606a">no stream-hub pod '
            "was watched</text>"
        )
        parts.append(limit)
    parts.append("</svg>")
    return "".join(parts)
