"""The HTML and Markdown reports as a person sees them: rendered in headless Chromium (screenshot, DOM and
layout read over the DevTools protocol) and the Mermaid diagrams parsed by the mermaid library under Node.

A failing run (the WebSocket paths routed to the monolith, an upgrade that deletes stream-hub, a live rollout
that ran two stream-hub pods) and a passing run (the reference chart) are each rendered and checked for the
diagram nodes, the wrong edges, the matrix cells and the links between them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from headless_chromium import Chromium, chromium_binary
from mutants import load_mutant
from report_runs import (
    FIXTURES,
    REPO,
    SELECTS_NOTHING,
    ReportRun,
    both_helms_run,
    failing_run,
    live_case_record,
    mutant_run,
    passing_run,
)

from quickmeet_conformance.reports.diagrams import SEVERITY_COLOUR
from quickmeet_conformance.reports.html import html_report
from quickmeet_conformance.reports.markdown import markdown_report

MERMAID_CHECK = REPO / "tools/mermaid-check"
WEBSOCKET_EDGE = 'g.edge.wrong[data-source$="/websocket"][data-target="svc:rocketchat-rocketchat"]'
SOCKJS_EDGE = WEBSOCKET_EDGE.replace("/websocket", "/sockjs")
ROOT_EDGE = 'g.edge[data-source$="/"][data-target="svc:rocketchat-rocketchat"]'
HUB_CASE = 'section.case[data-case="old-app-streamhub@helm3"]'
WEBSOCKET_CELL = 'td.cell[data-rule="ingress.websocket-to-ddp-streamer"]'

needs_chromium = pytest.mark.skipif(
    chromium_binary() is None, reason="chromium is not installed: run scripts/install-report-tools.sh"
)
needs_mermaid = pytest.mark.skipif(
    shutil.which("node") is None or not (MERMAID_CHECK / "node_modules/mermaid").is_dir(),
    reason="node or tools/mermaid-check/node_modules is missing: run scripts/install-report-tools.sh",
)


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    run = failing_run(tmp_path_factory.mktemp("failing"))
    assert run.returncode == 1, f"the mutant run should fail\n{run.output[-3000:]}"
    return run


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    run = passing_run(tmp_path_factory.mktemp("passing"))
    assert run.returncode == 0, f"the reference chart should pass\n{run.output[-3000:]}"
    return run


@pytest.fixture(scope="module")
def full_failing_html(failing: ReportRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The failing run's report model with a live case added, as the live lane's report section adds it."""
    work = tmp_path_factory.mktemp("live")
    report = json.loads(failing.json.read_text(encoding="utf-8"))
    report["live"] = {
        "cluster": {"name": "qmc", "provider": "kwok", "kube_version": "v1.37.2"},
        "audit": False,
        "cases": [live_case_record(work)],
        "errors": [],
    }
    target = work / "full.html"
    target.write_text(html_report(report), encoding="utf-8")
    (work / "full.md").write_text(markdown_report(report), encoding="utf-8")
    return target


def _page(path: Path, tmp_path: Path, shot_name: str, *, width: int = 1500) -> Chromium:
    """A browser showing ``path``, screenshotted; the caller stops it (it is stopped here if this fails)."""
    browser = Chromium(tmp_path / "chromium", width=width).__enter__()
    try:
        browser.open(path)
        width, height = browser.screenshot(_shot_path(tmp_path, shot_name))
        assert width >= 900 and height >= 600, (
            f"the page laid out as {width}x{height}px: expected a full report"
        )
    except BaseException:
        browser.stop()
        raise
    return browser


def _shot_path(tmp_path: Path, name: str) -> Path:
    """Screenshots go to $QMC_SCREENSHOT_DIR when set (to look at them), else to the test's temp dir."""
    folder = Path(os.environ.get("QMC_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def _js(selector: str) -> str:
    return json.dumps(selector)


BOX = """(sel => { const els = [...document.querySelectorAll(sel)];
  return els.map(e => { const r = e.getBoundingClientRect(); return {w: r.width, h: r.height,
    stroke: (e.querySelector('path') || e).getAttribute('stroke'), href: e.closest('a') ?
      (e.closest('a').getAttribute('href') || e.closest('a').getAttribute('xlink:href')) : null}; }); })"""


@needs_chromium
def test_failing_report_draws_the_websocket_route_to_the_monolith_as_wrong(
    full_failing_html: Path, tmp_path: Path
) -> None:
    """CONTRACT.md > Wiring: /websocket and /sockjs must go to the ddp-streamer Service. The mutant routes
    them to the monolith: the diagram must show both edges as wrong, red (error), linking to the finding."""
    browser = _page(full_failing_html, tmp_path, "failing-report.png")
    try:
        edges = browser.evaluate(f"{BOX}({_js(WEBSOCKET_EDGE)})")
        assert len(edges) == 1, f"expected one wrong /websocket -> monolith Service edge, found {edges}"
        sockjs = browser.evaluate(f"{BOX}({_js(SOCKJS_EDGE)})")
        assert len(sockjs) == 1, f"expected one wrong /sockjs -> monolith Service edge, found {sockjs}"
        for edge in edges + sockjs:
            assert edge["w"] > 20 and edge["h"] > 0, f"the wrong edge is not visible on the page: {edge}"
            assert edge["stroke"] == SEVERITY_COLOUR["error"], (
                f"expected the error colour, found {edge['stroke']}"
            )
            target = browser.evaluate(
                f"(document.getElementById({_js(edge['href'][1:])}) || {{}}).textContent"
            )
            assert target and "ddp-streamer" in target and "expected" in target and "found" in target, (
                f"the wrong edge links to {edge['href']}, which should be the finding (expected/found), "
                f"found {target!r}"
            )
        root = browser.evaluate(f"{BOX}({_js(ROOT_EDGE)})")
        assert len(root) == 1 and root[0]["stroke"] != SEVERITY_COLOUR["error"], (
            f"/ -> monolith is right: {root}"
        )
        components = browser.evaluate(
            "[...document.querySelectorAll('g.node')].map(n => n.dataset.component)"
        )
        for component in ("monolith", "ddp-streamer", "accounts", "authorization", "presence", "nats"):
            assert component in components, f"no diagram node for {component}; nodes: {components}"
        cell = browser.evaluate(f"{BOX}({_js(WEBSOCKET_CELL + ' a')})")
        verdict = browser.evaluate(f"document.querySelector({_js(WEBSOCKET_CELL)}).dataset.verdict")
        assert verdict == "fail" and cell and cell[0]["w"] > 0, f"matrix cell: verdict {verdict}, box {cell}"
        linked = browser.evaluate(
            f"(() => {{ const a = document.querySelector({_js(WEBSOCKET_CELL + ' a')});"
            "const t = document.getElementById(a.getAttribute('href').slice(1));"
            "return t ? t.textContent : null; })()"
        )
        assert linked and "/websocket" in linked, (
            f"the FAIL cell must link to the finding; it links to {linked!r}"
        )
        resources = browser.evaluate("performance.getEntriesByType('resource').length")
        assert resources == 0, f"the report fetched {resources} resources: it must be self-contained"
    finally:
        browser.stop()


@needs_chromium
def test_failing_report_shows_the_upgrade_plan_and_the_stream_hub_step_chart(
    full_failing_html: Path, tmp_path: Path
) -> None:
    """CONTRACT.md > Upgrades (the plan: stream-hub removed going to app 8) and 'stream-hub must never run
    two pods at once': the live case's step chart crosses the limit line at 1."""
    browser = _page(full_failing_html, tmp_path, "failing-upgrade-live.png")
    try:
        deleted = browser.evaluate(
            "[...document.querySelectorAll('section.upgrade tr[data-action=deleted]')]"
            ".map(r => r.textContent)"
        )
        assert any("stream-hub" in row for row in deleted), (
            f"the plan should delete stream-hub; deleted: {deleted}"
        )
        actions = browser.evaluate(
            "[...new Set([...document.querySelectorAll('section.upgrade tr[data-action]')]"
            ".map(r => r.dataset.action))]"
        )
        assert {"deleted", "changed", "unchanged"} <= set(actions), f"plan rows by action: {actions}"
        chart = browser.evaluate("""(() => { const s = document.querySelector('svg.step-chart');
          const limit = s.querySelector('line.limit').getBoundingClientRect();
          const dots = [...s.querySelectorAll('circle.event')].map(c => ({count: +c.dataset.count,
            y: c.getBoundingClientRect().y + c.getBoundingClientRect().height / 2}));
          return {peak: s.dataset.peak, limitY: limit.y + limit.height / 2, dots,
                  steps: s.querySelector('path.steps').getAttribute('stroke')}; })()""")
        assert chart["peak"] == "2" and chart["steps"] == SEVERITY_COLOUR["error"], f"step chart: {chart}"
        above = [d for d in chart["dots"] if d["count"] == 2]
        assert above and all(d["y"] < chart["limitY"] - 5 for d in above), (
            f"two pods must be drawn above the limit line at 1: {chart}"
        )
        # the limit is drawn over the step line: where the count sits at 1, the limit is what shows
        shown = browser.evaluate("""(() => { const s = document.querySelector('svg.step-chart');
          s.scrollIntoView({block: 'center'});
          const limit = s.querySelector('line.limit').getBoundingClientRect(), y = limit.y + limit.height / 2;
          const dots = [...s.querySelectorAll('circle.event')].map(c => c.getBoundingClientRect());
          return [...Array(10).keys()].map(i => dots[0].x + 10 + i * (dots[1].x - dots[0].x - 20) / 9)
            .map(x => { const e = document.elementFromPoint(x, y); return e && e.getAttribute('class'); }); })()""")
        assert shown.count("limit") >= 7, f"the step line hides the limit at 1: on top along it: {shown}"
        heading = browser.evaluate("document.querySelector('section.upgrade h3').textContent")
        assert str(REPO) not in heading and "fixtures/values/old-app-streamhub.yaml" in heading, (
            f"upgrade headings show values files relative to the working directory: {heading}"
        )
        timeline = browser.evaluate(
            "[...document.querySelectorAll('table.timeline tr')].map(r => r.textContent)"
        )
        assert len(timeline) == 5 and "+12.5s" in timeline[2], f"rollout timeline rows: {timeline}"
        finding = browser.evaluate("document.querySelector('section.live .finding').textContent")
        assert "2 stream-hub pods existed at once" in finding, f"the live finding: {finding}"
    finally:
        browser.stop()


@needs_chromium
def test_passing_report_has_no_wrong_edge_and_marks_stream_hub(passing: ReportRun, tmp_path: Path) -> None:
    """The reference chart passes every rule: no wrong edge, every matrix cell pass/skip/warn, and the
    stream-hub era's release draws the stream-hub workload marked (CONTRACT.md > Components)."""
    browser = _page(passing.html, tmp_path, "passing-report.png")
    try:
        assert browser.evaluate("document.querySelectorAll('g.edge.wrong').length") == 0
        assert browser.evaluate("document.querySelectorAll('g.edge').length") > 20
        verdicts = browser.evaluate("[...document.querySelectorAll('td.cell')].map(c => c.dataset.verdict)")
        assert verdicts and set(verdicts) <= {"pass", "skip", "warn"}, (
            f"matrix verdicts: {sorted(set(verdicts))}"
        )
        cases = browser.evaluate("[...document.querySelectorAll('section.case')].map(s => s.dataset.case)")
        assert cases == ["seed-docs@helm3", "old-app-streamhub@helm3"], cases
        hub = browser.evaluate(f"""[...document.querySelectorAll({_js(HUB_CASE + " g.node.stream-hub")})]
          .map(n => ({{component: n.dataset.component, text: n.textContent, w: n.getBoundingClientRect().width}}))""")
        assert len(hub) == 1 and hub[0]["component"] == "stream-hub", hub
        assert "max 1" in hub[0]["text"] and hub[0]["w"] > 50, hub
        edge = browser.evaluate(f"""[...document.querySelectorAll({_js(HUB_CASE + " g.edge")})]
          .filter(e => e.dataset.source === 'wl:Deployment/rocketchat-stream-hub').map(e => e.dataset.target)""")
        # issue 22: stream-hub's MONGO_URL is drawn too (its MongoDB connection is judged); the TRANSPORTER
        # edge is the one that does not lead to a MongoDB Service
        assert [t for t in edge if "mongodb" not in t] == ["svc:rocketchat-nats"], (
            f"stream-hub's TRANSPORTER should lead to the NATS Service: {edge}"
        )
        assert "svc:rocketchat-mongodb-headless" in edge, edge
    finally:
        browser.stop()


def test_html_report_is_self_contained(failing: ReportRun) -> None:
    """No network at view time: no script, no external stylesheet, image or font, nothing fetched by URL.
    Issue 22: each rule now links its public document; a link is followed on a click, never fetched, so an
    https:// URL may appear only as a link's href and text (this test forbade "https://" anywhere before)."""
    text = failing.html.read_text(encoding="utf-8")
    for needle in ("<script", " src=", "<link", "@import", "url(http", "http://"):
        assert needle not in text, f"the HTML report contains {needle!r}: it must be self-contained"
    links = re.findall(r'<a class="doc" href="(https://[^"<>]+)">\1</a>', text)
    assert links, "no rule links its public document"
    assert text.count("https://") == 2 * len(links), "an https:// URL outside a document link"


def _mermaid_parse(markdown: Path) -> dict[str, Any]:
    proc = subprocess.run(
        ["node", "check.mjs", str(markdown)], cwd=MERMAID_CHECK, capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip(), f"check.mjs printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@needs_mermaid
def test_markdown_diagrams_parse_with_mermaid(
    failing: ReportRun, passing: ReportRun, full_failing_html: Path
) -> None:
    """Every Mermaid block of both runs' Markdown (and of the one with a live case) parses with mermaid."""
    full_md = full_failing_html.with_suffix(".md")
    for markdown, expected in (
        (failing.markdown, ["flowchart-v2"]),
        (passing.markdown, ["flowchart-v2"] * 2),
        (full_md, ["flowchart-v2", "xychart"]),
    ):
        parsed = _mermaid_parse(markdown)
        errors = [d for d in parsed["diagrams"] if "error" in d]
        assert not errors, (
            f"{markdown.name}: mermaid could not parse: {errors[0]['error']}\n{errors[0]['source']}"
        )
        assert [d["type"] for d in parsed["diagrams"]] == expected, f"{markdown.name}: {parsed['diagrams']}"


@needs_mermaid
def test_mermaid_check_rejects_a_broken_diagram(tmp_path: Path) -> None:
    """The parse check can fail: a flowchart with an unclosed edge label is reported."""
    broken = tmp_path / "broken.md"
    broken.write_text('```mermaid\nflowchart LR\n  a["x"] -->|"y| b\n```\n', encoding="utf-8")
    parsed = _mermaid_parse(broken)
    assert "error" in parsed["diagrams"][0], parsed


def test_markdown_marks_the_websocket_route_as_a_wrong_edge(failing: ReportRun) -> None:
    """The same wrong edges as the HTML: dotted, red, naming the rule; the matrix cell links to the finding."""
    text = failing.markdown.read_text(encoding="utf-8")
    wrong = [line for line in text.splitlines() if "-.->" in line]
    assert len(wrong) == 2 and all("ingress.websocket-to-ddp-streamer" in line for line in wrong), wrong
    assert f"stroke:{SEVERITY_COLOUR['error']}" in text
    link = "(#f-seed-docs-helm3-ingress-websocket-to-ddp-streamer-0)"
    assert (
        f"[❌ FAIL]{link}" in text
        and '<a id="f-seed-docs-helm3-ingress-websocket-to-ddp-streamer-0">' in text
    )


# -- every kind of wrong edge, and a diagram a person can read ----------------------------------------
MUTANTS = FIXTURES / "mutants/static"
WRONG_EDGE_KINDS = {
    # microservice Services select by instance label only: each selects every component's pods, NATS too
    "instance-only-selector": (
        "services-single-component--instance-only-selector.yaml",
        "services.single-component",
        'g.edge.wrong[data-source="svc:rocketchat-ddp-streamer"]',
        "selects pods of 7 components",
    ),
    # TRANSPORTER names nats://rocketchat-nats-client:4222, a host the release has no Service for
    "transporter-unknown-host": (
        "wiring-transporter--unknown-host.yaml",
        "wiring.transporter",
        'g.edge.wrong[data-target="missing:svc:rocketchat-nats-client"]',
        "rocketchat-nats-client",
    ),
    # the monolith's Service selects a label no pod has
    "service-selects-nothing": (
        "",
        "services.single-component",
        'g.edge.wrong[data-source="svc:rocketchat-rocketchat"][data-target="missing:pods:rocketchat-rocketchat"]',
        "selects no pods",
    ),
}

# Per diagram: node boxes that overlap, and edges whose path passes through a box other than its two ends
# (points sampled along each path, in page coordinates).
LAYOUT = """(() => [...document.querySelectorAll('svg.topology')].map(svg => {
  const boxes = [...svg.querySelectorAll('g.node')].map(n => {
    const r = n.querySelector('rect').getBoundingClientRect();
    return {id: n.dataset.id, column: [...n.classList].find(c => c.startsWith('col-')),
            x: r.x, y: r.y, w: r.width, h: r.height}; });
  const overlaps = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    if (a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5)
      overlaps.push([a.id, b.id]); }));
  const crossings = [];
  for (const edge of svg.querySelectorAll('g.edge')) {
    const path = edge.querySelector('path'), m = path.getScreenCTM(), length = path.getTotalLength();
    for (let at = 0; at <= length; at += 3) {
      const p = new DOMPoint(path.getPointAtLength(at).x, path.getPointAtLength(at).y).matrixTransform(m);
      const hit = boxes.find(b => b.id !== edge.dataset.source && b.id !== edge.dataset.target
        && p.x > b.x + 1 && p.x < b.x + b.w - 1 && p.y > b.y + 1 && p.y < b.y + b.h - 1);
      if (hit) { crossings.push([edge.dataset.source, edge.dataset.target, hit.id]); break; }
    }
  }
  return {boxes, overlaps, crossings}; }))()"""

WRONG_EDGES = """(sel => [...document.querySelectorAll(sel)].map(g => {
  const r = g.getBoundingClientRect(), a = g.closest('a'), href = a ? a.getAttribute('href') : null;
  const target = href ? document.getElementById(href.slice(1)) : null;
  return {w: r.width, h: r.height, rule: g.dataset.rule, stroke: g.querySelector('path').getAttribute('stroke'),
    severity: [...g.classList].find(c => c.startsWith('sev-')), href,
    finding: target ? {cls: target.className, text: target.textContent,
                       rule: target.closest('.rule') ? target.closest('.rule').id : null} : null}; }))"""


@pytest.fixture(scope="module")
def wrong_edge_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReportRun]:
    runs = {}
    for kind, (mutant_file, *_) in WRONG_EDGE_KINDS.items():
        mutant = load_mutant(MUTANTS / mutant_file) if mutant_file else SELECTS_NOTHING
        run = mutant_run(tmp_path_factory.mktemp(kind), mutant)
        assert run.returncode == 1, f"the {kind} mutant should fail\n{run.output[-3000:]}"
        runs[kind] = run
    return runs


@needs_chromium
@pytest.mark.parametrize("kind", list(WRONG_EDGE_KINDS))
def test_each_kind_of_wrong_edge_is_drawn_in_its_findings_colour(
    kind: str, wrong_edge_runs: dict[str, ReportRun], tmp_path: Path
) -> None:
    """CONTRACT.md > Wiring: a Service selecting several components' pods, a TRANSPORTER resolving nowhere
    and a Service selecting nothing are each drawn as a wrong edge, in the colour of the finding it links to;
    no two boxes overlap and no edge passes through a box (a wrong fan must stay readable)."""
    _, rule_id, selector, says = WRONG_EDGE_KINDS[kind]
    browser = _page(wrong_edge_runs[kind].html, tmp_path, f"wrong-edge-{kind}.png", width=1280)
    try:
        edges = browser.evaluate(f"{WRONG_EDGES}({_js(selector)})")
        assert edges, f"no wrong edge matching {selector}"
        for edge in edges:
            assert edge["w"] > 10 and edge["h"] > 0, f"the wrong edge is not visible: {edge}"
            assert edge["rule"] == rule_id and edge["finding"], (
                f"the wrong edge must link to its finding: {edge}"
            )
            finding = edge["finding"]
            severity = edge["severity"].removeprefix("sev-")
            assert f"sev-{severity}" in finding["cls"].split(), (
                f"the edge is drawn as {severity}, its finding is {finding['cls']}"
            )
            assert edge["stroke"] == SEVERITY_COLOUR[severity], (
                f"{edge['stroke']} is not the {severity} colour"
            )
            assert says in finding["text"] and "expected" in finding["text"], finding["text"][:300]
            assert finding["rule"] and rule_id.replace(".", "-") in finding["rule"], finding
        layout = browser.evaluate(LAYOUT)
        assert len(layout) == 1, f"one diagram expected, found {len(layout)}"
        assert not layout[0]["overlaps"], f"node boxes overlap: {layout[0]['overlaps']}"
        assert not layout[0]["crossings"], (
            f"edges through boxes (source, target, box): {layout[0]['crossings']}"
        )
        if kind == "instance-only-selector":  # Services that select NATS pods besides others stay Services
            columns = {b["id"]: b["column"] for b in layout[0]["boxes"]}
            assert columns["svc:rocketchat-ddp-streamer"] == "col-service", columns
            assert sorted(i for i, c in columns.items() if c == "col-nats-service") == [
                "svc:rocketchat-nats",
                "svc:rocketchat-nats-headless",
            ], columns
            # issue 22: MongoDB is drawn right of the workloads too (its connections are judged), so the same
            # four Services' edges to the MongoDB pods go round as well (this pinned 4 routed edges in all)
            for target in ("wl:StatefulSet/rocketchat-nats", "wl:StatefulSet/rocketchat-mongodb"):
                selector = f'g.edge.wrong[data-routed][data-target="{target}"]'
                routed = browser.evaluate(f"{BOX}({_js(selector)})")
                assert len(routed) == 4 and {e["stroke"] for e in routed} == {SEVERITY_COLOUR["error"]}, (
                    f"the four microservice Services' edges to {target} go round the boxes: {routed}"
                )
            assert browser.evaluate("document.querySelectorAll('g.edge.wrong[data-routed]').length") == 8
    finally:
        browser.stop()


@needs_chromium
def test_diagram_text_stays_readable_and_the_diagram_scrolls(full_failing_html: Path, tmp_path: Path) -> None:
    """In a 1280px window the five-column diagram is not shrunk to fit (its smallest text stays >= 11px):
    its box scrolls sideways, the page itself does not."""
    browser = _page(full_failing_html, tmp_path, "failing-report-1280.png", width=1280)
    try:
        sizes = browser.evaluate("""[...document.querySelectorAll('svg.topology')].map(svg => {
          const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
          const box = svg.closest('.diagram');
          return {scale, smallest: Math.min(...[...svg.querySelectorAll('text')]
                    .map(t => parseFloat(t.getAttribute('font-size')))) * scale,
                  scrolls: box.scrollWidth > box.clientWidth}; })""")
        assert sizes, "no diagram"
        for size in sizes:
            assert size["smallest"] >= 11 - 0.01, f"diagram text drawn at {size['smallest']:.1f}px: {size}"
            assert size["scrolls"], f"five columns do not fit 1280px: the diagram box should scroll, {size}"
        page = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert page[0] <= page[1], f"the page itself scrolls sideways: {page}"
    finally:
        browser.stop()


@pytest.fixture(scope="module")
def both_helms(tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    run = both_helms_run(tmp_path_factory.mktemp("both-helms"))
    assert run.returncode == 0, f"the reference chart should pass\n{run.output[-3000:]}"
    return run


@needs_chromium
def test_identical_renders_of_one_values_file_are_drawn_once(both_helms: ReportRun, tmp_path: Path) -> None:
    """seed-docs.yaml rendered by helm3 and helm4 gives one topology: one diagram, titled with both helms,
    and helm4's section links to it instead of drawing it again."""
    browser = _page(both_helms.html, tmp_path, "both-helms.png")
    try:
        cases = browser.evaluate("""[...document.querySelectorAll('section.case')].map(s => ({
          id: s.dataset.case, anchor: s.id, diagrams: s.querySelectorAll('svg.topology').length,
          title: (s.querySelector('.diagram-helms') || {}).textContent || null,
          same: s.querySelector('.same-topology a') ? s.querySelector('.same-topology a').getAttribute('href')
                : null}))""")
        assert [c["id"] for c in cases] == ["seed-docs@helm3", "seed-docs@helm4"], cases
        first, second = cases
        assert first["diagrams"] == 1 and "helm3, helm4" in (first["title"] or ""), first
        assert second["diagrams"] == 0 and second["same"] == f"#{first['anchor']}", second
        assert browser.evaluate("document.querySelectorAll('td.cell[data-helm=helm4]').length") > 10
    finally:
        browser.stop()


def test_markdown_draws_identical_renders_once(both_helms: ReportRun) -> None:
    """The Markdown summary draws seed-docs.yaml's one topology once, as the HTML page does: one Mermaid
    flowchart titled with both helms, and helm4's section links to it."""
    text = both_helms.markdown.read_text(encoding="utf-8")
    assert text.count("```mermaid\nflowchart") == 1, text[:3000]
    assert "**Topology · helm3, helm4** (identical renders, drawn once)" in text, text[:3000]
    assert "Topology identical to [helm3's render](#" in text, text[:3000]


# -- issue 22: the diagram fits a 1400px page, draws MongoDB, and its legend shows only what it draws ---------
FITS = """[...document.querySelectorAll('.diagram')].map(box => {
  const b = box.getBoundingClientRect(), svg = box.querySelector('svg.topology');
  const nodes = [...svg.querySelectorAll('g.node rect')].map(r => r.getBoundingClientRect());
  return {scroll: box.scrollWidth, client: box.clientWidth, case: box.closest('section').dataset.case,
          clipped: nodes.filter(r => r.left < b.left || r.right > b.right).length, nodes: nodes.length,
          columns: [...svg.querySelectorAll('text.column-title')].map(t => t.textContent),
          legend: box.nextElementSibling ? box.nextElementSibling.textContent : ''}; })"""


@needs_chromium
def test_every_diagram_fits_a_1400px_page_without_clipping_a_column(
    full_failing_html: Path, passing: ReportRun, tmp_path: Path
) -> None:
    """Issue 22: the NATS column was cut off (the five columns were 1830px wide). In a 1400px window each
    diagram fits its box: nothing scrolls, no node box is clipped, the NATS column is on screen."""
    for page in (full_failing_html, passing.html):
        browser = _page(page, tmp_path, f"fits-1400-{page.stem}.png", width=1400)
        try:
            diagrams = browser.evaluate(FITS)
            assert diagrams, f"no diagram in {page.name}"
            for d in diagrams:
                assert d["scroll"] <= d["client"] and d["clipped"] == 0 and d["nodes"] > 5, d
                assert any("NATS" in c for c in d["columns"]), d["columns"]
            assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        finally:
            browser.stop()


@needs_chromium
def test_legend_shows_only_what_the_chart_has(passing: ReportRun, tmp_path: Path) -> None:
    """No stream-hub entry on the release without stream-hub (seed-docs, app 7.8); the stream-hub era's
    release keeps it. Neither shows wrong-edge entries: nothing is wrong in the passing run."""
    browser = _page(passing.html, tmp_path, "legend.png", width=1400)
    try:
        legends = {d["case"]: d["legend"] for d in browser.evaluate(FITS)}
        assert "stream-hub" not in legends["seed-docs@helm3"], legends
        assert "stream-hub: never more than one pod" in legends["old-app-streamhub@helm3"], legends
        for legend in legends.values():
            assert "wired as the contract says" in legend and "wrong (" not in legend, legend
            assert "MongoDB" in legend, legend
    finally:
        browser.stop()


MONGO_WRONG_EDGE = 'g.edge.wrong[data-rule="connections.mongo-replica-set"]'


@pytest.fixture(scope="module")
def mongo_wrong(tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    out = tmp_path_factory.mktemp("mongo-wrong")
    (out / "mutant").mkdir()
    run = mutant_run(out, load_mutant(MUTANTS / "connections-mongo-replica-set--wrong-name.yaml"))
    assert run.returncode == 1, f"the mutant should fail\n{run.output[-3000:]}"
    return run


@needs_chromium
def test_mongodb_connections_are_drawn_with_their_verdict(
    passing: ReportRun, mongo_wrong: ReportRun, tmp_path: Path
) -> None:
    """Every connection a rule judges is drawn: each workload's MONGO_URL leads to the MongoDB Service, grey
    when connections.mongo-* pass, and as a wrong edge linking to the finding when one fails (a replicaSet
    name the bundled MongoDB does not have)."""
    browser = _page(passing.html, tmp_path, "mongo-ok.png", width=1400)
    try:
        ok = browser.evaluate(f"{BOX}({_js('section.case g.edge[data-target$=mongodb-headless]')})")
        assert len(ok) >= 5 and all(e["stroke"] == "#8c959f" for e in ok), ok
    finally:
        browser.stop()
    browser = _page(mongo_wrong.html, tmp_path, "mongo-wrong.png", width=1400)
    try:
        edges = browser.evaluate(f"{WRONG_EDGES}({_js(MONGO_WRONG_EDGE)})")
        assert len(edges) >= 5, edges
        for edge in edges:
            assert edge["stroke"] == SEVERITY_COLOUR["error"] and edge["w"] > 10, edge
            assert edge["finding"] and "replicaSet" in edge["finding"]["text"], edge
        columns = browser.evaluate(
            "[...document.querySelectorAll('g.node')].filter(n => n.dataset.component === 'mongodb')"
            ".map(n => [...n.classList].find(c => c.startsWith('col-')))"
        )
        assert columns == ["col-mongodb"], columns
    finally:
        browser.stop()
