"""Report runs for the visual tests: the real plugin over the static and upgrade lanes in a subprocess (a
failing run on the WebSocket-to-monolith mutant, a passing run on the reference chart), and a live case
record as the live lane writes it, from a watched stream-hub rollout that ran two pods at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutants import ChartPatch, Mutant, load_mutant, materialize

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.expectations import expectations_for
from quickmeet_conformance.live.case import LiveCaseResult
from quickmeet_conformance.live.rules.context import LiveContext
from quickmeet_conformance.live.state import LiveView, PodTimeline
from quickmeet_conformance.reports.live import live_case_dict
from quickmeet_conformance.rules.engine import RULES, Options, evaluate_rule, rules_for_lane
from quickmeet_conformance.topology import ComponentMatcher
from quickmeet_conformance.values import deep_merge, load_values

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
HELM3 = str(REPO / ".tools/bin/helm3")
HELM4 = str(REPO / ".tools/bin/helm4")
MUTANT = FIXTURES / "mutants/static/ingress-websocket--to-monolith.yaml"
# No fixture mutant has a Service that selects no pods: the monolith's Service selecting a label nobody has.
SELECTS_NOTHING = Mutant(
    "service-selects-nothing",
    "services.single-component",
    "the monolith Service selects no pods",
    "seed-docs.yaml",
    chart_patch=(
        ChartPatch(
            "templates/service.yaml",
            '    {{- include "rocketchat.selectorLabels" $labelCtx | nindent 4 }}\n',
            "    app.kubernetes.io/name: nobody\n",
        ),
    ),
)
TIMEOUT_S = 180


@dataclass(frozen=True)
class ReportRun:
    returncode: int
    output: str
    html: Path
    markdown: Path
    sarif: Path
    json: Path


def run_reports(
    out_dir: Path,
    chart: Path,
    values: list[Path],
    *,
    upgrade: tuple[Path, Path] | None = None,
    extra_env: dict[str, str] | None = None,
    helms: tuple[str, ...] = (HELM3,),
) -> ReportRun:
    """The static (and upgrade) lanes through the real plugin, writing every report format into ``out_dir``."""
    from suite_runner import clean_env, report_args, report_paths, run_suite

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = report_paths(out_dir, "html", "markdown", "sarif", "json")
    args = [
        "-q",
        "--chart",
        str(chart),
        *(arg for helm in helms for arg in ("--helm", helm)),
        *report_args(paths),
    ]
    for v in values:
        args += ["--values", str(v)]
    if upgrade:
        args += ["suites/upgrade", "--upgrade-from", str(upgrade[0]), "--upgrade-to", str(upgrade[1])]
    proc = run_suite(*args, env=clean_env(**(extra_env or {})), timeout_s=TIMEOUT_S)
    return ReportRun(
        proc.returncode, proc.output, paths["html"], paths["markdown"], paths["sarif"], paths["json"]
    )


def failing_run(out_dir: Path) -> ReportRun:
    """seed-docs.yaml on the chart whose Ingress routes /websocket and /sockjs to the monolith, plus the
    upgrade from the stream-hub era to app 8 (stream-hub deleted)."""
    chart, _ = materialize(load_mutant(MUTANT), FIXTURES, out_dir / "mutant")
    return run_reports(
        out_dir,
        chart,
        [FIXTURES / "values/seed-docs.yaml"],
        upgrade=(FIXTURES / "values/old-app-streamhub.yaml", FIXTURES / "values/app-8.yaml"),
    )


def mutant_run(out_dir: Path, mutant: Mutant) -> ReportRun:
    """A static mutant with its base values file, through the real plugin."""
    chart, values = materialize(mutant, FIXTURES, out_dir / "mutant")
    return run_reports(out_dir, chart, [values])


def both_helms_run(out_dir: Path) -> ReportRun:
    """The reference chart with seed-docs.yaml rendered by helm3 and by helm4 (the same topology)."""
    return run_reports(
        out_dir, FIXTURES / "charts/rocketchat", [FIXTURES / "values/seed-docs.yaml"], helms=(HELM3, HELM4)
    )


def passing_run(out_dir: Path) -> ReportRun:
    """The reference chart with seed-docs.yaml and the stream-hub era's values (stream-hub drawn)."""
    return run_reports(
        out_dir,
        FIXTURES / "charts/rocketchat",
        [FIXTURES / "values/seed-docs.yaml", FIXTURES / "values/old-app-streamhub.yaml"],
    )


# A watched rollout of the stream-hub Deployment with maxSurge 1: the new pod starts before the old one goes.
SURGE_POINTS = (
    (0.0, 1, "WATCHING", ""),
    (1.8, 2, "ADDED", "rocketchat-stream-hub-7c9d-new"),
    (6.1, 1, "DELETED", "rocketchat-stream-hub-5b8f-old"),
)


def live_case_record(
    work: Path, *, points: tuple[tuple[float, int, str, str], ...] = SURGE_POINTS
) -> dict[str, Any]:
    """A live case as ``live_case_dict`` writes it, judged by the real ``live.streamhub-peak-one`` rule."""
    from quickmeet_conformance.helm import resolve_helm

    helm = resolve_helm(HELM3)
    chart = load_chart(str(FIXTURES / "charts/rocketchat"), version=None, helm_path=helm.path, workdir=work)
    values = load_values(str(FIXTURES / "values/old-app-streamhub.yaml"))
    peak = max(c for _, c, _, _ in points)
    peak_pods = (
        ("rocketchat-stream-hub-5b8f-old", "rocketchat-stream-hub-7c9d-new")
        if peak > 1
        else ("rocketchat-stream-hub-7c9d-new",)
    )
    timeline = tuple(f"+{t:6.2f}s {event:<8} {pod} ({count} exist)" for t, count, event, pod in points[1:])
    hub = PodTimeline(
        "stream-hub", peak, peak_pods, timeline, True, "upgrade to the chart with a bumped version", points
    )
    view = LiveView("rocketchat", "qmc-old-app", None, None, None, hub=hub)
    merged = deep_merge(chart.defaults, values.data)
    ctx = LiveContext(
        values_file=values,
        merged=merged,
        chart=chart,
        expectations=expectations_for(merged, chart.app_version, chart.reads),
        options=Options(),
        matcher=ComponentMatcher(),
        live=view,
    )
    rules_for_lane("live")
    findings = {"live.streamhub-peak-one": evaluate_rule(ctx, RULES["live.streamhub-peak-one"])}
    log = [
        "[live old-app] install: helm upgrade --install rocketchat rocketchat (helm3) in qmc-old-app",
        "[live old-app] install: done in 3.1s",
        "[live old-app] install rollout: complete after 9.4s",
        "[live old-app] upgrade to the chart with a bumped version: done in 2.2s",
        f"[live old-app] upgrade to the chart with a bumped version: at most {peak} stream-hub pod(s) existed "
        "at once",
    ]
    result = LiveCaseResult(
        "old-app-streamhub@helm3",
        "fixtures/values/old-app-streamhub.yaml with rocketchat 2.0.0 (helm3)",
        "rocketchat",
        "qmc-old-app",
        view,
        findings,
        log=log,
        log_times=[0.0, 3.1, 12.5, 16.0, 22.3],
    )
    return live_case_dict(result)
