"""The upgrade lane: render both sides of a ``helm upgrade``, plan it resource by resource, run the rules.

An upgrade pair is a from-side (the installed release: chart + values) and a to-side (what
``helm upgrade`` applies). Both go through the static lane's Renderer with the same release and
namespace; the to-side is rendered with ``--is-upgrade``, twice, so values generated at render time
show up as a difference between two renders of the same input. The plan says, per resource keyed by
(API group, kind, namespace, name), whether the upgrade creates, deletes, changes or keeps it, and
which field paths change. The to-side also runs the whole static lane.

values -> render (both sides) -> plan + topologies -> upgrade rules -> findings -> reports.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import yaml

from .charts import Chart, load_chart
from .errors import UserError
from .expectations import Expectations, expectations_for
from .findings import Finding, Severity, Verdict, verdict_of  # noqa: F401  (verdict_of: used by the live lane)
from .pipeline import Case, CaseResult, ReleaseSettings, evaluate_case, render_request
from .redact import Redactor, all_strings
from .render import Manifest, Rendered, RenderRequest, Renderer
from .reports.model import rules_dict
from .rules.engine import Context, Rule, evaluate_rule, redact_finding, rules_for_lane
from .topology import MONOLITH, STREAM_HUB, Topology, build_topology
from .values import ValuesFile, deep_merge, join_key_path, load_values, parse_values

if TYPE_CHECKING:
    from .session import ConformanceSession

SIDES = ("from", "to")

# -- pairs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideSpec:
    """One side of an upgrade: a chart and a values file (or inline values from a matrix file)."""

    side: str  # "from" | "to"
    chart: str  # anything load_chart takes: a directory, a .tgz, repo/name
    chart_version: str | None = None
    values_path: str = ""  # the values file ("" for inline values not yet written to disk)
    inline: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    shown: str = ""  # how the values are named in messages: the file, or "<matrix file> (to.values)"
    declared_in: str = ""  # the matrix file or command-line flag that declared this side

    @property
    def values_label(self) -> str:
        return self.shown or self.values_path


@dataclass(frozen=True)
class UpgradePair:
    name: str
    from_side: SideSpec
    to_side: SideSpec
    description: str = ""
    source: str = ""  # the matrix file, or "command line"

    def side(self, which: str) -> SideSpec:
        return self.from_side if which == "from" else self.to_side


def _shown(path: Path | str) -> str:
    """Paths below the working directory are shown relative to it."""
    text = str(path)
    rel = os.path.relpath(text) if os.path.isabs(text) else text
    return text if rel.startswith("..") else rel


def side_error(spec: SideSpec, pair_name: str, exc: UserError) -> UserError:
    """``exc`` restated so its one line names the side, the upgrade pair and the file."""
    where = f"{spec.side} side of upgrade {pair_name}"
    if spec.declared_in:
        where += f" ({spec.declared_in})"
    where += f": {exc.where}" if exc.where else ""
    return type(exc)(exc.what, where=where, fix=exc.fix)


def _matrix_side(data: dict[str, Any], side: str, path: Path, charts_dir: Path, values_dir: Path) -> SideSpec:
    where = _shown(path)
    spec = data.get(side)
    if not isinstance(spec, dict):
        raise UserError(f"'{side}' must be a map with 'chart' and 'values'", where=where,
                        fix=f"e.g. {side}: {{chart: rocketchat, values: monolith.yaml}}")
    unknown = sorted(set(spec) - {"chart", "chart_version", "values"})
    if unknown:
        raise UserError(f"{side}: unknown keys {unknown}", where=where, fix="use chart, chart_version and values")
    chart = spec.get("chart")
    if not isinstance(chart, str) or not chart:
        raise UserError(f"{side}.chart must name a chart directory under {_shown(charts_dir)}", where=where)
    chart_path = next((p for p in (charts_dir / chart, Path(chart)) if p.exists()), None)
    if chart_path is None:
        raise UserError(f"{side}.chart {chart!r} not found under {_shown(charts_dir)}", where=where)
    values = spec.get("values")
    version = spec.get("chart_version")
    common = dict(side=side, chart=_shown(chart_path), chart_version=str(version) if version else None,
                  declared_in=where)
    if isinstance(values, dict):
        return SideSpec(inline=values, shown=f"{where} ({side}.values)", **common)
    if not isinstance(values, str) or not values:
        raise UserError(f"{side}.values must be a file under {_shown(values_dir)} or an inline map", where=where)
    values_path = next((p for p in (values_dir / values, Path(values)) if p.exists()), values_dir / values)
    return SideSpec(values_path=_shown(values_path), shown=_shown(values_path), **common)


def load_pair_file(path: Path, charts_dir: Path, values_dir: Path) -> UpgradePair:
    """One matrix file: ``from: {chart, values}`` and ``to: {chart, values}`` (values: a file or a map)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", where=_shown(path)) from None
    data = parse_values(raw, _shown(path)).data  # the values loader's bounds and one-line errors
    unknown = sorted(set(data) - {"from", "to", "description"})
    if unknown:
        raise UserError(f"unknown keys {unknown}", where=_shown(path), fix="an upgrade pair has from, to, description")
    return UpgradePair(
        name=path.stem,
        from_side=_matrix_side(data, "from", path, charts_dir, values_dir),
        to_side=_matrix_side(data, "to", path, charts_dir, values_dir),
        description=str(data.get("description") or ""),
        source=_shown(path),
    )


def load_matrix(directory: Path) -> list[UpgradePair]:
    """Every ``*.yaml`` pair in ``directory``; charts and values are looked up beside it (../charts, ../values)."""
    if not directory.is_dir():
        raise UserError("upgrade matrix directory not found", where=_shown(directory),
                        fix="pass --upgrade-from/--upgrade-to, or set upgrades_dir in pytest_conformance_defaults")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise UserError("no upgrade pair (*.yaml) in the matrix directory", where=_shown(directory))
    return [load_pair_file(p, directory.parent / "charts", directory.parent / "values") for p in files]


def pairs_from_options(
    froms: list[str], tos: list[str], *, from_chart: str, from_chart_version: str | None, to_chart: str,
    to_chart_version: str | None,
) -> list[UpgradePair]:
    """``--upgrade-from A --upgrade-to B`` pairs, matched by order."""
    if len(froms) != len(tos):
        raise UserError(f"{len(froms)} --upgrade-from but {len(tos)} --upgrade-to",
                        fix="give them in pairs, matched by order: --upgrade-from OLD.yaml --upgrade-to NEW.yaml")
    pairs: list[UpgradePair] = []
    seen: dict[str, int] = {}
    for index, (old, new) in enumerate(zip(froms, tos)):
        name = f"{Path(old).stem}-to-{Path(new).stem}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f"-{seen[name]}"
        pairs.append(UpgradePair(
            name=name,
            from_side=SideSpec("from", from_chart, from_chart_version, old, shown=old,
                               declared_in=f"--upgrade-from #{index + 1}"),
            to_side=SideSpec("to", to_chart, to_chart_version, new, shown=new, declared_in=f"--upgrade-to #{index + 1}"),
            source="command line",
        ))
    return pairs


def write_inline_values(pair: UpgradePair, workdir: Path) -> UpgradePair:
    """Inline values written to files (the static lane reads values from a file)."""
    sides = {}
    for which in SIDES:
        spec = pair.side(which)
        if spec.inline is not None and not spec.values_path:
            target = workdir / f"upgrade-{pair.name}.{which}.yaml"
            target.write_text(yaml.safe_dump(spec.inline, sort_keys=False), encoding="utf-8")
            spec = replace(spec, values_path=str(target))
        sides[which] = spec
    return replace(pair, from_side=sides["from"], to_side=sides["to"])


def load_side_values(spec: SideSpec) -> ValuesFile:
    values = load_values(spec.values_path)
    return replace(values, path=spec.values_label)


# -- the plan ------------------------------------------------------------------------------------------

ResourceKey = tuple[str, str, str, str]  # (API group, kind, namespace, name)


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


def resource_key(manifest: Manifest, namespace: str) -> ResourceKey:
    return (manifest.group, manifest.kind, manifest.namespace or namespace, manifest.name)


def index_manifests(manifests: Iterable[Manifest], namespace: str) -> dict[ResourceKey, Manifest]:
    return {resource_key(m, namespace): m for m in manifests}


def key_ref(key: ResourceKey, namespace: str = "") -> str:
    """``Kind/name``, with the namespace when it is not the release's."""
    _, kind, ns, name = key
    return f"{kind}/{name}" + (f" (namespace {ns})" if namespace and ns != namespace else "")


_IDENTITY_FIELDS = ("name", "metadata.name", "path")  # containers/env/ports, volumeClaimTemplates, Ingress paths


def _identity(item: Any, identity: str) -> str | None:
    node = item
    for part in identity.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def _named_items(items: list[Any]) -> tuple[str, dict[str, Any]] | None:
    """Lists of uniquely named maps compare item by item by name (or path), not by index."""
    for identity in _IDENTITY_FIELDS:
        names = [_identity(i, identity) for i in items]
        if items and None not in names and len(set(names)) == len(names):
            return identity.rsplit(".", 1)[-1], dict(zip(names, items))
    return None


def diff_values(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(field path, old, new) for every leaf that differs; ``ABSENT`` marks a side that lacks the field."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in list(old) + [k for k in new if k not in old]:
            found += diff_values(old.get(key, ABSENT), new.get(key, ABSENT), join_key_path(path, key))
        return found
    if isinstance(old, list) and isinstance(new, list):
        old_named, new_named = _named_items(old), _named_items(new)
        if old_named is not None and new_named is not None and old_named[0] == new_named[0]:
            label, before, after = old_named[0], old_named[1], new_named[1]
            found = []
            for name in list(before) + [n for n in after if n not in before]:
                found += diff_values(before.get(name, ABSENT), after.get(name, ABSENT), f"{path}[{label}={name}]")
            return found
        found = []
        for i in range(max(len(old), len(new))):
            found += diff_values(old[i] if i < len(old) else ABSENT, new[i] if i < len(new) else ABSENT, f"{path}[{i}]")
        return found
    return [(path or "(whole object)", old, new)]


def show_value(value: Any, limit: int = 120) -> str:
    """A short, stable rendering of a field value for plans and findings."""
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def secret_text(value: Any) -> str:
    """A Secret ``data`` value decoded (``stringData`` values as they are)."""
    if not isinstance(value, str):
        return "" if value is ABSENT or value is None else str(value)
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return value


def show_secret(value: Any, when: str) -> str:
    """Secret values are never shown: ``*** (before, 10 chars)``, as ``kubectl diff`` masks them."""
    if value is ABSENT:
        return "(absent)"
    return f"*** ({when}, {len(secret_text(value))} chars)"


def is_secret_field(kind: str, path: str) -> bool:
    return kind == "Secret" and path.startswith(("data", "stringData"))


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: str  # display strings; Secret values masked
    new: str


def field_changes(kind: str, old: Any, new: Any, path: str = "") -> tuple[FieldChange, ...]:
    changes = []
    for where, before, after in diff_values(old, new, path):
        if is_secret_field(kind, where):
            changes.append(FieldChange(where, show_secret(before, "before"), show_secret(after, "after")))
        else:
            changes.append(FieldChange(where, show_value(before), show_value(after)))
    return tuple(changes)


ACTIONS = ("created", "deleted", "changed", "unchanged")


@dataclass(frozen=True)
class ResourcePlan:
    key: ResourceKey
    action: str  # one of ACTIONS
    changes: tuple[FieldChange, ...] = ()

    @property
    def ref(self) -> str:
        return key_ref(self.key)


@dataclass(frozen=True)
class UpgradePlan:
    resources: tuple[ResourcePlan, ...]
    notes: tuple[str, ...] = ()  # facts a reader must not miss (stream-hub removed, mode converted)
    namespace: str = "default"

    def of(self, action: str) -> list[ResourcePlan]:
        return [r for r in self.resources if r.action == action]

    def counts(self) -> dict[str, int]:
        return {a: len(self.of(a)) for a in ACTIONS}


def plan_upgrade(
    before: Iterable[Manifest], after: Iterable[Manifest], namespace: str, notes: Iterable[str] = ()
) -> UpgradePlan:
    """What ``helm upgrade`` does to each resource, from the two renders alone."""
    old, new = index_manifests(before, namespace), index_manifests(after, namespace)
    resources = []
    for key, manifest in new.items():
        if key not in old:
            resources.append(ResourcePlan(key, "created"))
            continue
        changes = field_changes(key[1], old[key].body, manifest.body)
        resources.append(ResourcePlan(key, "changed" if changes else "unchanged", changes))
    resources += [ResourcePlan(key, "deleted") for key in old if key not in new]
    order = {a: i for i, a in enumerate(ACTIONS)}
    resources.sort(key=lambda r: (order[r.action], r.key[1], r.key[3]))
    return UpgradePlan(tuple(resources), tuple(notes), namespace)


# -- quantities (PVC sizes) ----------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]{0,2})$")
_SUFFIX = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
           "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def parse_quantity(text: Any) -> Decimal | None:
    """A Kubernetes quantity (``8Gi``, ``500M``, ``1.5Ti``) in base units; None when it is not one."""
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _SUFFIX:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except InvalidOperation:
        return None


# -- evaluation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideState:
    """One side as the rules see it: values, chart, and (when it rendered) manifests and topology."""

    spec: SideSpec
    chart: Chart
    values_file: ValuesFile
    merged: dict[str, Any] = field(repr=False)
    expectations: Expectations = field(repr=False)
    rendered: Rendered | None = field(default=None, repr=False)
    topology: Topology | None = field(default=None, repr=False)
    render_error: str | None = None
    index: dict[ResourceKey, Manifest] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return f"{self.spec.values_label} with {self.chart.label}"


@dataclass(frozen=True)
class UpgradeView:
    """What an upgrade rule reads: both sides, the to-side rendered again, the plan, the to-side's static lane."""

    pair: UpgradePair
    namespace: str
    from_side: SideState
    to_side: SideState
    to_again: Rendered | None  # the to-side rendered a second time (None if that render failed)
    to_again_error: str | None
    plan: UpgradePlan | None
    target: CaseResult

    def surviving(self) -> list[tuple[ResourceKey, Manifest, Manifest]]:
        """Resources on both sides: the ones ``helm upgrade`` patches in place."""
        new = self.to_side.index
        return [(k, m, new[k]) for k, m in self.from_side.index.items() if k in new]

    def deleted(self) -> list[tuple[ResourceKey, Manifest]]:
        return [(k, m) for k, m in self.from_side.index.items() if k not in self.to_side.index]

    def created(self) -> list[tuple[ResourceKey, Manifest]]:
        return [(k, m) for k, m in self.to_side.index.items() if k not in self.from_side.index]


@dataclass(frozen=True)
class UpgradeCase(ReleaseSettings):
    """One upgrade pair rendered through one helm binary, with the release it upgrades."""

    pair: UpgradePair
    from_chart: Chart
    to_chart: Chart
    renderer: Renderer

    @property
    def id(self) -> str:
        return f"{self.pair.name}@{self.renderer.helm.label}"

    def chart(self, which: str) -> Chart:
        return self.from_chart if which == "from" else self.to_chart

    def request(self, which: str, values: dict[str, Any], attempt: int = 0) -> RenderRequest:
        return RenderRequest(
            chart=self.chart(which),
            values=values,
            release=self.release,
            namespace=self.namespace,
            kube_version=self.options.kube_version,
            is_upgrade=which == "to",
            values_label=self.pair.side(which).values_label,
            attempt=attempt,
        )


@dataclass
class UpgradeResult:
    case: UpgradeCase
    findings: dict[str, list[Finding]]  # rule id -> findings (already redacted)
    plan: UpgradePlan | None = None
    input_error: str | None = None  # a side could not be read or the installed side not rendered
    target_failures: tuple[str, ...] = ()  # static rule ids the to-side fails

    def verdict(self, rule_id: str) -> Verdict:
        return verdict_of(self.findings.get(rule_id, []))


def stream_hub_notes(from_side: SideState, to_side: SideState) -> list[str]:
    """CONTRACT.md > Version rules: say so when an upgrade removes (or adds) stream-hub."""
    if from_side.topology is None or to_side.topology is None:
        return []
    before = from_side.topology.components(STREAM_HUB)
    after = to_side.topology.components(STREAM_HUB)
    reason = to_side.expectations.stream_hub.reason
    if before and not after:
        refs = ", ".join(w.ref for w in before)
        return [f"stream-hub removed: {refs} is deleted and nothing replaces it ({reason})"]
    if after and not before:
        return [f"stream-hub added: {', '.join(w.ref for w in after)} ({reason})"]
    return []


def mode_notes(from_side: SideState, to_side: SideState) -> list[str]:
    before, after = from_side.expectations.microservices, to_side.expectations.microservices
    if before == after:
        return []
    monolith = from_side.topology.component(MONOLITH) if from_side.topology else None
    name = f" ({monolith.ref})" if monolith else ""
    if after:
        return [f"converts the monolith{name} to microservices (microservices.enabled: false -> true)"]
    return [f"converts microservices back to the monolith{name} (microservices.enabled: true -> false)"]


def _side_state(case: UpgradeCase, which: str, values: ValuesFile) -> SideState:
    chart = case.chart(which)
    merged = deep_merge(chart.defaults, values.data)
    return SideState(case.pair.side(which), chart, values, merged, expectations_for(merged, chart.app_version))


def _rendered_state(state: SideState, rendered: Rendered, case: UpgradeCase) -> SideState:
    return replace(state, rendered=rendered, topology=build_topology(rendered.manifests, case.matcher),
                   index=index_manifests(rendered.manifests, case.namespace))


def _redactor(case: UpgradeCase, sides: list[SideState], renders: list[Rendered | None]) -> Redactor:
    public = frozenset(all_strings(case.from_chart.defaults)) | frozenset(all_strings(case.to_chart.defaults))
    redactor = Redactor(public=public)
    for state in sides:
        redactor.add_from_values(state.values_file.data)
    for rendered in renders:
        for manifest in rendered.find("Secret") if rendered else []:
            redactor.add_from_secret_manifest(manifest.body)
    return redactor


def prefetch_requests(case: UpgradeCase) -> list[RenderRequest]:
    """The renders :func:`evaluate_upgrade` will ask for, so a session can start them all at once."""
    try:
        old = load_side_values(case.pair.from_side).data
        new = load_side_values(case.pair.to_side).data
    except UserError:
        return []
    return [case.request("from", old), case.request("to", new), case.request("to", new, attempt=1),
            render_request(target_case(case), new)]


def target_case(case: UpgradeCase) -> Case:
    """The to-side as a static-lane case (the release after the upgrade must pass the static lane)."""
    return Case(case.to_chart, case.pair.to_side.values_path, case.renderer, release=case.release,
                namespace=case.namespace, options=case.options, matcher=case.matcher)


def evaluate_upgrade(case: UpgradeCase, rules: list[Rule] | None = None) -> UpgradeResult:
    """Render both sides, plan the upgrade, evaluate the upgrade rules; bad input is one line, never a traceback."""
    rules = rules if rules is not None else rules_for_lane("upgrade")
    pair = case.pair
    states: dict[str, SideState] = {}
    for which in SIDES:
        try:
            states[which] = _side_state(case, which, load_side_values(pair.side(which)))
        except UserError as exc:
            return UpgradeResult(case, {}, input_error=side_error(pair.side(which), pair.name, exc).line())
    try:
        from_rendered = case.renderer.render(case.request("from", states["from"].values_file.data))
    except UserError as exc:
        error = side_error(pair.from_side, pair.name, exc)
        return UpgradeResult(case, {}, input_error=f"{error.line()} (the installed side must render)")
    states["from"] = _rendered_state(states["from"], from_rendered, case)
    to_values = states["to"].values_file.data
    to_rendered = to_again = None
    to_error = again_error = None
    try:
        to_rendered = case.renderer.render(case.request("to", to_values))
        states["to"] = _rendered_state(states["to"], to_rendered, case)
        to_again = case.renderer.render(case.request("to", to_values, attempt=1))
    except UserError as exc:
        if to_rendered is None:
            to_error = exc.line()
            states["to"] = replace(states["to"], render_error=to_error)
        else:
            again_error = exc.line()
    redactor = _redactor(case, list(states.values()), [from_rendered, to_rendered, to_again])
    target = evaluate_case(target_case(case))
    plan = None
    if to_rendered is not None:
        notes = mode_notes(states["from"], states["to"]) + stream_hub_notes(states["from"], states["to"])
        plan = plan_upgrade(from_rendered.manifests, to_rendered.manifests, case.namespace,
                            [redactor.text(n) for n in notes])
        plan = replace(plan, resources=tuple(
            replace(r, changes=tuple(FieldChange(c.path, redactor.text(c.old), redactor.text(c.new)) for c in r.changes))
            for r in plan.resources
        ))
    view = UpgradeView(pair, case.namespace, states["from"], states["to"], to_again, again_error, plan, target)
    to_state = states["to"]
    ctx = Context(
        values_file=to_state.values_file,
        merged=to_state.merged,
        chart=case.to_chart,
        expectations=to_state.expectations,
        options=case.options,
        matcher=case.matcher,
        rendered=to_rendered,
        topology=to_state.topology,
        render_error=redactor.text(to_error) if to_error else None,
        upgrade=view,
    )
    findings = {r.id: [redact_finding(f, redactor.text) for f in evaluate_rule(ctx, r)] for r in rules}
    failing = tuple(rule_id for rule_id in target.findings if target.verdict(rule_id) in (Verdict.FAIL, Verdict.ERROR)
                    and any(f.severity == Severity.ERROR or f.verdict == Verdict.ERROR
                            for f in target.findings[rule_id] if f.failed))
    return UpgradeResult(case, findings, plan, target_failures=failing)


# -- a run's pairs -------------------------------------------------------------------------------------


class UpgradeSession:
    """The upgrade pairs of one run across the session's helm binaries; each pair is evaluated once."""

    def __init__(self, pairs: list[UpgradePair], conformance: "ConformanceSession") -> None:
        self.conformance = conformance
        self._raw_pairs = pairs
        self._pairs: list[UpgradePair] | None = None
        self._charts: dict[tuple[str, str | None], Chart] = {}
        self._results: dict[tuple[int, str], UpgradeResult] = {}
        self._prefetched = False

    @property
    def pairs(self) -> list[UpgradePair]:
        if self._pairs is None:
            workdir = self.conformance.workdir
            self._pairs = [write_inline_values(p, workdir) for p in self._raw_pairs]
        return self._pairs

    def chart(self, spec: SideSpec) -> Chart:
        key = (spec.chart, spec.chart_version)
        if key not in self._charts:
            helm = self.conformance.helm(self.conformance.settings.helm[0])
            self._charts[key] = load_chart(spec.chart, version=spec.chart_version, helm_path=helm.path,
                                           workdir=self.conformance.workdir)
        return self._charts[key]

    def check_setup(self) -> None:
        """Resolve every helm binary, chart and values file now; the first mistake is one line naming its side."""
        for spec in self.conformance.settings.helm:
            self.conformance.helm(spec)
        for pair in self.pairs:
            for which in SIDES:
                side = pair.side(which)
                try:
                    self.chart(side)
                    load_side_values(side)
                except UserError as exc:
                    raise side_error(side, pair.name, exc) from None

    def keys(self) -> list[tuple[int, str]]:
        return [(i, h) for i in range(len(self._raw_pairs)) for h in self.conformance.settings.helm]

    def case_id(self, key: tuple[int, str]) -> str:
        index, helm_spec = key
        return f"{self._raw_pairs[index].name}@{Path(helm_spec).name}"

    def case(self, key: tuple[int, str]) -> UpgradeCase:
        index, helm_spec = key
        pair = self.pairs[index]
        settings = self.conformance.settings
        charts = {}
        for which in SIDES:
            try:
                charts[which] = self.chart(pair.side(which))
            except UserError as exc:
                raise side_error(pair.side(which), pair.name, exc) from None
        return UpgradeCase(pair, charts["from"], charts["to"], self.conformance.renderer(helm_spec),
                           release=settings.release, namespace=settings.namespace, options=settings.options,
                           matcher=self.conformance.matcher)

    def _prefetch(self) -> None:
        self._prefetched = True
        by_helm: dict[str, list[RenderRequest]] = {}
        for key in self.keys():
            try:
                by_helm.setdefault(key[1], []).extend(prefetch_requests(self.case(key)))
            except UserError:
                continue  # reported by that pair's result
        for helm_spec, requests in by_helm.items():
            self.conformance.renderer(helm_spec).prefetch(requests)

    def result(self, key: tuple[int, str]) -> UpgradeResult:
        if key not in self._results:
            if not self._prefetched:
                self._prefetch()
            self._results[key] = evaluate_upgrade(self.case(key))  # UserError: a chart that cannot load
        return self._results[key]

    def results(self) -> list[UpgradeResult]:
        return list(self._results.values())


# -- output --------------------------------------------------------------------------------------------


_LABEL_PATHS = ("metadata.labels", "spec.template.metadata.labels")


def plan_lines(plan: UpgradePlan, *, max_changes: int = 6) -> list[str]:
    """The readable plan: notes first, then each resource the upgrade creates, deletes or changes."""
    lines = [f"info       {note}" for note in plan.notes]
    relabelled = [r for r in plan.of("changed") if all(c.path.startswith(_LABEL_PATHS) for c in r.changes)]
    for resource in plan.resources:
        ref = key_ref(resource.key, plan.namespace)
        if resource.action in ("created", "deleted"):
            lines.append(f"{resource.action:<10} {ref}")
        elif resource.action == "changed" and resource not in relabelled:
            lines.append(f"changed    {ref}")
            for change in resource.changes[:max_changes]:
                lines.append(f"             {change.path}: {change.old} -> {change.new}")
            if len(resource.changes) > max_changes:
                lines.append(f"             (+{len(resource.changes) - max_changes} more field changes)")
    if relabelled:
        shown = sorted({f"{c.path.rsplit('labels', 1)[-1]}: {c.old} -> {c.new}" for r in relabelled for c in r.changes})
        lines.append(f"changed    {len(relabelled)} in labels only ({'; '.join(shown)}): "
                     + ", ".join(key_ref(r.key, plan.namespace) for r in relabelled))
    unchanged = plan.of("unchanged")
    if unchanged:
        lines.append(f"unchanged  {len(unchanged)}: " + ", ".join(key_ref(r.key, plan.namespace) for r in unchanged))
    counts = plan.counts()
    lines.append("total      " + ", ".join(f"{counts[a]} {a}" for a in ACTIONS))
    return lines


def plan_dict(plan: UpgradePlan) -> dict[str, Any]:
    def entry(r: ResourcePlan) -> dict[str, Any]:
        group, kind, namespace, name = r.key
        data: dict[str, Any] = {"group": group, "kind": kind, "namespace": namespace, "name": name}
        if r.action == "changed":
            data["changes"] = [{"path": c.path, "old": c.old, "new": c.new} for c in r.changes]
        return data

    return {"notes": list(plan.notes), **{a: [entry(r) for r in plan.of(a)] for a in ACTIONS}}


def side_dict(spec: SideSpec, chart: Chart) -> dict[str, Any]:
    return {"values": spec.values_label, "chart": {"name": chart.name, "version": chart.version,
                                                    "app_version": chart.app_version, "source": chart.spec}}


def upgrade_result_dict(result: UpgradeResult) -> dict[str, Any]:
    case = result.case
    return {
        "id": case.id,
        "pair": case.pair.name,
        "source": case.pair.source,
        "description": case.pair.description,
        "from": side_dict(case.pair.from_side, case.from_chart),
        "to": side_dict(case.pair.to_side, case.to_chart),
        "helm": {"path": case.renderer.helm.path, "version": case.renderer.helm.version},
        "release": case.release,
        "namespace": case.namespace,
        "input_error": result.input_error,
        "plan": plan_dict(result.plan) if result.plan else None,
        "target_static_failures": list(result.target_failures),
        "rules": rules_dict(result.findings),
    }
