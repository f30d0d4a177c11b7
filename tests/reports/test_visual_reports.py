"""The HTML and Markdown reports as a person sees them: rendered in headless Chromium (screenshot, DOM and
layout read over the DevTools protocol) and the Mermaid diagrams parsed by the mermaid library under Node.

A failing run (the WebSocket paths routed to the monolith, an upgrade that deletes stream-hub, a live rollout
that ran two stream-hub pods) and a passing run (the reference chart) are each rendered and checked for the
diagram nodes, the wrong edges, the matrix cells and the links between them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from headless_chromium import Chromium, chromium_binary
from report_runs import REPO, ReportRun, failing_run, live_case_record, passing_run

from quickmeet_conformance.reports.html import SEVERITY_COLOUR, html_report
from quickmeet_conformance.reports.markdown import markdown_report

MERMAID_CHECK = REPO / "tools/mermaid-check"
WEBSOCKET_EDGE = 'g.edge.wrong[data-source$="/websocket"][data-target="svc:rocketchat-rocketchat"]'
SOCKJS_EDGE = WEBSOCKET_EDGE.replace("/websocket", "/sockjs")
ROOT_EDGE = 'g.edge[data-source$="/"][data-target="svc:rocketchat-rocketchat"]'
HUB_CASE = 'section.case[data-case="old-app-streamhub@helm3"]'
WEBSOCKET_CELL = 'td.cell[data-rule="ingress.websocket-to-ddp-streamer"]'

needs_chromium = pytest.mark.skipif(chromium_binary() is None,
                                    reason="chromium is not installed: run scripts/install-report-tools.sh")
needs_mermaid = pytest.mark.skipif(
    shutil.which("node") is None or not (MERMAID_CHECK / "node_modules/mermaid").is_dir(),
    reason="node or tools/mermaid-check/node_modules is missing: run scripts/install-report-tools.sh")


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
    report["live"] = {"cluster": {"name": "qmc", "provider": "kwok", "kube_version": "v1.37.2"}, "audit": False,
                      "cases": [live_case_record(work)], "errors": []}
    target = work / "full.html"
    target.write_text(html_report(report), encoding="utf-8")
    (work / "full.md").write_text(markdown_report(report), encoding="utf-8")
    return target


def _page(path: Path, tmp_path: Path, shot_name: str) -> Chromium:
    """A browser showing ``path``, screenshotted; the caller stops it (it is stopped here if this fails)."""
    browser = Chromium(tmp_path / "chromium").__enter__()
    try:
        browser.open(path)
        width, height = browser.screenshot(_shot_path(tmp_path, shot_name))
        assert width >= 900 and height >= 600, f"the page laid out as {width}x{height}px: expected a full report"
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
        full_failing_html: Path, tmp_path: Path) -> None:
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
            assert edge["stroke"] == SEVERITY_COLOUR["error"], f"expected the error colour, found {edge['stroke']}"
            target = browser.evaluate(f"(document.getElementById({_js(edge['href'][1:])}) || {{}}).textContent")
            assert target and "ddp-streamer" in target and "expected" in target and "found" in target, (
                f"the wrong edge links to {edge['href']}, which should be the finding (expected/found), "
                f"found {target!r}")
        root = browser.evaluate(f"{BOX}({_js(ROOT_EDGE)})")
        assert len(root) == 1 and root[0]["stroke"] != SEVERITY_COLOUR["error"], f"/ -> monolith is right: {root}"
        components = browser.evaluate("[...document.querySelectorAll('g.node')].map(n => n.dataset.component)")
        for component in ("monolith", "ddp-streamer", "accounts", "authorization", "presence", "nats"):
            assert component in components, f"no diagram node for {component}; nodes: {components}"
        cell = browser.evaluate(f"{BOX}({_js(WEBSOCKET_CELL + ' a')})")
        verdict = browser.evaluate(f"document.querySelector({_js(WEBSOCKET_CELL)}).dataset.verdict")
        assert verdict == "fail" and cell and cell[0]["w"] > 0, f"matrix cell: verdict {verdict}, box {cell}"
        linked = browser.evaluate(f"(() => {{ const a = document.querySelector({_js(WEBSOCKET_CELL + ' a')});"
                                  "const t = document.getElementById(a.getAttribute('href').slice(1));"
                                  "return t ? t.textContent : null; })()")
        assert linked and "/websocket" in linked, (
            f"the FAIL cell must link to the finding; it links to {linked!r}")
        resources = browser.evaluate("performance.getEntriesByType('resource').length")
        assert resources == 0, f"the report fetched {resources} resources: it must be self-contained"
    finally:
        browser.stop()


@needs_chromium
def test_failing_report_shows_the_upgrade_plan_and_the_stream_hub_step_chart(
        full_failing_html: Path, tmp_path: Path) -> None:
    """CONTRACT.md > Upgrades (the plan: stream-hub removed going to app 8) and 'stream-hub must never run
    two pods at once': the live case's step chart crosses the limit line at 1."""
    browser = _page(full_failing_html, tmp_path, "failing-upgrade-live.png")
    try:
        deleted = browser.evaluate("[...document.querySelectorAll('section.upgrade tr[data-action=deleted]')]"
                                   ".map(r => r.textContent)")
        assert any("stream-hub" in row for row in deleted), f"the plan should delete stream-hub; deleted: {deleted}"
        actions = browser.evaluate("[...new Set([...document.querySelectorAll('section.upgrade tr[data-action]')]"
                                   ".map(r => r.dataset.action))]")
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
            f"two pods must be drawn above the limit line at 1: {chart}")
        timeline = browser.evaluate("[...document.querySelectorAll('table.timeline tr')].map(r => r.textContent)")
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
        assert verdicts and set(verdicts) <= {"pass", "skip", "warn"}, f"matrix verdicts: {sorted(set(verdicts))}"
        cases = browser.evaluate("[...document.querySelectorAll('section.case')].map(s => s.dataset.case)")
        assert cases == ["seed-docs@helm3", "old-app-streamhub@helm3"], cases
        hub = browser.evaluate(f"""[...document.querySelectorAll({_js(HUB_CASE + ' g.node.stream-hub')})]
          .map(n => ({{component: n.dataset.component, text: n.textContent, w: n.getBoundingClientRect().width}}))""")
        assert len(hub) == 1 and hub[0]["component"] == "stream-hub", hub
        assert "max 1" in hub[0]["text"] and hub[0]["w"] > 50, hub
        edge = browser.evaluate(f"""[...document.querySelectorAll({_js(HUB_CASE + ' g.edge')})]
          .filter(e => e.dataset.source === 'wl:Deployment/rocketchat-stream-hub').map(e => e.dataset.target)""")
        assert edge == ["svc:rocketchat-nats"], f"stream-hub's TRANSPORTER should lead to the NATS Service: {edge}"
    finally:
        browser.stop()


def test_html_report_is_self_contained(failing: ReportRun) -> None:
    """No network at view time: no script, no external stylesheet, image or font, nothing fetched by URL."""
    text = failing.html.read_text(encoding="utf-8")
    for needle in ("<script", " src=", "<link", "@import", "url(http", "http://", "https://"):
        assert needle not in text, f"the HTML report contains {needle!r}: it must be self-contained"


def _mermaid_parse(markdown: Path) -> dict[str, Any]:
    proc = subprocess.run(["node", "check.mjs", str(markdown)], cwd=MERMAID_CHECK, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip(), f"check.mjs printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@needs_mermaid
def test_markdown_diagrams_parse_with_mermaid(failing: ReportRun, passing: ReportRun, full_failing_html: Path) -> None:
    """Every Mermaid block of both runs' Markdown (and of the one with a live case) parses with mermaid."""
    full_md = full_failing_html.with_suffix(".md")
    for markdown, expected in ((failing.markdown, ["flowchart-v2"]), (passing.markdown, ["flowchart-v2"] * 2),
                               (full_md, ["flowchart-v2", "xychart"])):
        parsed = _mermaid_parse(markdown)
        errors = [d for d in parsed["diagrams"] if "error" in d]
        assert not errors, f"{markdown.name}: mermaid could not parse: {errors[0]['error']}\n{errors[0]['source']}"
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
    assert f"[❌ FAIL]{link}" in text and '<a id="f-seed-docs-helm3-ingress-websocket-to-ddp-streamer-0">' in text
