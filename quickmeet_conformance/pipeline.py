"""The static lane end to end: values -> rendered manifests -> topology -> rules -> findings.

One :class:`Case` is one (chart, values file, helm binary, kube version); :func:`evaluate_case` is the
only place that calls the renderer, and rules only see what it hands them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .case_key import case_id
from .chart_reads import ReleaseSwitch
from .charts import Chart
from .connections.gather import gather
from .connections.model import Connections
from .connections.nats_judge import judge as nats_judge
from .errors import RenderError, UserError
from .expectations import expectations_for
from .findings import Finding, Status, Verdict, blocking, status_of, verdict_of
from .redact import Redactor, redactor_for
from .render import Rendered, Renderer, RenderRequest
from .rules.context import StaticContext
from .rules.engine import Options, Rule, evaluate_rule, redact_finding, rules_for_lane
from .topology import ComponentMatcher, Topology, build_topology
from .values import LAYER_SEPARATOR, ValuesFile, deep_merge, layers_of, load_values, lookup, values_stem


@dataclass(frozen=True, kw_only=True)
class ReleaseSettings:
    """What a rendered case shares with every other: the release it renders as, and how rules read it."""

    release: str = "rocketchat"
    namespace: str = "default"
    options: Options = field(default_factory=Options)
    matcher: ComponentMatcher = field(default_factory=ComponentMatcher)


@dataclass(frozen=True)
class Case(ReleaseSettings):
    """One values file rendered through one helm binary."""

    chart: Chart
    values_path: str
    renderer: Renderer

    @property
    def id(self) -> str:
        return case_id(values_stem(self.values_path), self.renderer.helm.path)

    @property
    def values_name(self) -> str:
        return LAYER_SEPARATOR.join(Path(p).name for p in self.values_files)

    @property
    def values_files(self) -> tuple[str, ...]:
        """The values files of this case: one, or each layer of ``base.yaml+prod.yaml`` in order."""
        return layers_of(self.values_path)


@dataclass
class CaseResult:
    case: Case
    findings: dict[str, list[Finding]]  # rule id -> findings (already redacted)
    input_error: str | None = None  # the values file could not be read: nothing else was evaluated
    rendered: Rendered | None = None
    redactor: Redactor = field(default_factory=Redactor)
    topology: Topology | None = None  # what the rules saw (the reports draw it)
    connections: Connections | None = None  # the connections the rules judged (the reports draw them)

    def verdict(self, rule_id: str) -> Verdict:
        return verdict_of(self.findings.get(rule_id, []))

    def status(self, rule_id: str, *, strict: bool) -> Status:
        return status_of(self.findings.get(rule_id, []), strict=strict)

    def failures(self, *, strict: bool = False) -> list[Finding]:
        return [f for fs in self.findings.values() for f in blocking(fs, strict=strict)]


def render_request(case: Case, values: dict) -> RenderRequest:
    return RenderRequest(
        chart=case.chart,
        values=values,
        release=case.release,
        namespace=case.namespace,
        kube_version=case.options.kube_version,
        values_label=case.values_name,
    )


_NOT_ONLY_AND = re.compile(r"\b(?:or|not|else|eq|ne)\b")


def switches_in_play(chart: Chart, merged: dict) -> tuple[ReleaseSwitch, ...]:
    """The chart's install/upgrade switches these values can flip: a line that tests only ``and`` of values and
    ``.Release.IsInstall`` acts only when one of those values is set. Switches in ``_*.tpl`` helpers act where
    another template includes them (bitnami's upgrade password check, which pairs with ``lookup``): not judged
    here. When none is in play, an upgrade render equals the install render and is not done."""
    keys = {d.name: d.key for d in chart.dependencies}
    found = []
    for switch in chart.release_switches:
        if switch.helper or switch.file.count("charts/") > 1:
            continue
        prefix = keys.get(switch.subchart, switch.subchart)
        paths = [f"{prefix}.{p}" if prefix else p for p in switch.values_paths()]
        if not paths or _NOT_ONLY_AND.search(switch.text) or any(lookup(merged, p) for p in paths):
            found.append(switch)
    return tuple(found)


def upgrade_request(case: Case, values: dict) -> RenderRequest | None:
    """The same values rendered as the first ``helm upgrade`` renders them (``--is-upgrade``), only when the chart
    has a switch these values flip (:func:`switches_in_play`): an extra render costs as much as the first."""
    if not switches_in_play(case.chart, deep_merge(case.chart.defaults, values)):
        return None
    return replace(render_request(case, values), is_upgrade=True)


# bitnami's common library refuses an upgrade render whose generated passwords are unset: a real `helm upgrade`
# reads them from the existing Secret with `lookup`, which `helm template` cannot answer
_LOOKUP_REFUSAL = re.compile(r"/charts/([^/]+)/templates/[^)]*\): PASSWORDS ERROR")
_EMPTY_KEY = re.compile(r"'([A-Za-z0-9_.-]+)' must not be empty")
STAND_IN = "qmc-lookup-stand-in"


def _set_path(values: dict, path: str, value: str) -> dict:
    out = dict(values)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, dict) else {}
        node = node[part]
    node[parts[-1]] = value
    return out


def _standin_retry(request: RenderRequest, line: str) -> tuple[RenderRequest, tuple[str, ...]] | None:
    """The request again with a stand-in for each generated password helm's refusal ``line`` names (bitnami:
    "PASSWORDS ERROR ... 'auth.replicaSetKey' must not be empty"), with the keys it set; None for any other
    refusal."""
    sub, missing = _LOOKUP_REFUSAL.search(line), _EMPTY_KEY.findall(line)
    if sub is None or not missing:
        return None
    keys = {d.name: d.key for d in request.chart.dependencies}
    prefix = keys.get(sub.group(1), sub.group(1))
    values = request.values
    for key in missing:
        values = _set_path(values, f"{prefix}.{key}", STAND_IN)
    return replace(request, values=values), tuple(f"{prefix}.{key}" for key in missing)


def _first_refusal(renderer: Renderer, request: RenderRequest) -> RenderError | None:
    """A second attempt (``attempt`` > 0: rendered again to catch output generated at random) of values helm
    refused on the first attempt: that refusal. A refusal carries no output, and helm refuses the same input
    alike, so the second attempt starts from the stand-ins the first one needed."""
    if request.attempt == 0:
        return None
    first = renderer.cached(replace(request, attempt=0))
    return first if isinstance(first, RenderError) and _standin_retry(request, first.line()) else None


def render_upgrade(
    renderer: Renderer, request: RenderRequest
) -> tuple[Rendered | None, str | None, tuple[str, ...]]:
    """The ``--is-upgrade`` render, (rendered, refusal, stand-ins). A subchart that refuses because a password it
    generated on install is unset (bitnami: "PASSWORDS ERROR ... 'auth.replicaSetKey' must not be empty") gets
    a stand-in for that key, as a real upgrade gets the existing Secret's value from ``lookup``."""
    standins: list[str] = []
    for _ in range(4):
        refused = _first_refusal(renderer, request)
        try:
            if refused is not None:
                raise refused
            return renderer.render(request), None, tuple(standins)
        except UserError as exc:
            line = exc.line()
        retry = _standin_retry(request, line)
        if retry is None:
            return None, line, tuple(standins)
        request, added = retry
        standins += added
    return (
        None,
        "the upgrade render kept asking for passwords a real upgrade reads with lookup",
        tuple(standins),
    )


def prefetch_upgrades(
    renderer: Renderer,
    requests: list[RenderRequest],
    prefetch: Callable[[list[RenderRequest]], None] | None = None,
) -> None:
    """Render ``requests`` concurrently, then the stand-in renders :func:`render_upgrade` will ask for, round by
    round (each round concurrent), so an evaluation that follows finds every render done. ``prefetch``: how a
    batch is rendered (default: ``renderer.prefetch``; a caller may look in its own cache first)."""
    batch = prefetch or renderer.prefetch
    for _ in range(5):
        batch([r for r in requests if r.attempt == 0])  # the first attempts before the others
        batch([r for r in requests if r.attempt != 0 and _first_refusal(renderer, r) is None])
        retries = []
        for request in requests:
            result = _first_refusal(renderer, request) or renderer.cached(request)
            retry = _standin_retry(request, result.line()) if isinstance(result, RenderError) else None
            if retry is not None:
                retries.append(retry[0])
        if not retries:
            return
        requests = retries


def load_case_values(case: Case) -> ValuesFile:
    return load_values(case.values_path)


def gather_connections(case: Case, topology: Topology, values: dict) -> Connections:
    """The connections the rules of rules/connections*.py judge (the NATS server run here, not in a rule)."""
    try:
        return gather(
            topology,
            values,
            release=case.release,
            namespace=case.namespace,
            matcher=case.matcher,
            judge=nats_judge,
        )
    except Exception as exc:  # a bug here must show as an error of those rules, not end the run
        return Connections(case.release, error=f"{type(exc).__name__}: {exc}")


def evaluate_case(case: Case, rules: list[Rule] | None = None) -> CaseResult:
    rules = rules if rules is not None else rules_for_lane("static")
    try:
        values_file = load_case_values(case)
    except UserError as exc:
        return CaseResult(case, {}, input_error=exc.line())
    merged = deep_merge(case.chart.defaults, values_file.data)
    redactor = redactor_for(values_file.data, public_values=case.chart.defaults)
    ctx = StaticContext(
        values_file=values_file,
        merged=merged,
        chart=case.chart,
        expectations=expectations_for(merged, case.chart.app_version, case.chart.reads),
        options=case.options,
        matcher=case.matcher,
    )
    try:
        rendered = case.renderer.render(render_request(case, values_file.data))
        ctx.rendered = rendered
        ctx.topology = build_topology(rendered.manifests, case.matcher)
        ctx.connections = gather_connections(case, ctx.topology, values_file.data)
        ctx.switches = switches_in_play(case.chart, merged)
        upgrade = upgrade_request(case, values_file.data) if ctx.switches else None
        if upgrade is not None:
            ctx.upgrade_rendered, error, ctx.upgrade_standins = render_upgrade(case.renderer, upgrade)
            ctx.upgrade_render_error = redactor.text(error) if error else None
        for manifest in rendered.manifests:
            if manifest.kind == "Secret":
                redactor.add_from_secret_manifest(manifest.body)
            else:
                redactor.add_from_manifest_env(manifest.body)
    except UserError as exc:
        ctx.render_error = redactor.text(exc.line())
    findings = {r.id: [redact_finding(f, redactor.text) for f in evaluate_rule(ctx, r)] for r in rules}
    return CaseResult(
        case,
        findings,
        rendered=ctx.rendered,
        redactor=redactor,
        topology=ctx.topology,
        connections=ctx.connections,
    )
