"""The static lane end to end: values -> rendered manifests -> topology -> rules -> findings.

One :class:`Case` is one (chart, values file, helm binary, kube version); :func:`evaluate_case` is the
only place that calls the renderer, and rules only see what it hands them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .case_key import case_id
from .charts import Chart
from .connections import mongo_uri
from .connections.gather import gather
from .connections.model import Connections
from .connections.nats_judge import judge as nats_judge
from .errors import UserError
from .expectations import expectations_for
from .findings import Finding, Status, Verdict, blocking, status_of, verdict_of
from .redact import Redactor, redactor_for
from .render import Rendered, Renderer, RenderRequest
from .rules.context import StaticContext
from .rules.engine import Options, Rule, evaluate_rule, redact_finding, rules_for_lane
from .topology import ComponentMatcher, Topology, build_topology
from .values import LAYER_SEPARATOR, ValuesFile, deep_merge, layers_of, load_values, values_stem


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
        mongo_uri.preload()  # pymongo imports in a thread while helm renders
        rendered = case.renderer.render(render_request(case, values_file.data))
        ctx.rendered = rendered
        ctx.topology = build_topology(rendered.manifests, case.matcher)
        ctx.connections = gather_connections(case, ctx.topology, values_file.data)
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
