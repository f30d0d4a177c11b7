"""Evaluate one upgrade case: render both sides (the to-side twice, to catch values generated at render
time), plan the upgrade, run the upgrade rules on the to-side, and the whole static lane on it."""

from __future__ import annotations

import base64
from dataclasses import replace

from ..errors import UserError
from ..expectations import expectations_for
from ..pipeline import STAND_IN, Case, evaluate_case, render_request, render_upgrade
from ..redact import Redactor, all_strings
from ..render import Rendered, RenderRequest
from ..rules.context import StaticContext
from ..rules.engine import Rule, evaluate_rule, redact_finding, rules_for_lane
from ..topology import MONOLITH, STREAM_HUB, build_topology
from ..values import ValuesFile, deep_merge, lookup
from .case import SideState, UpgradeCase, UpgradeResult, UpgradeView
from .pairs import SIDES, load_side_values, side_error
from .plan import FieldChange, index_manifests, plan_upgrade
from .reuse import ReuseOutcome, lost_defaults, reused_values
from .rules.context import UpgradeContext


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
    key = "microservices.enabled"
    by_default = ""
    if lookup(from_side.values_file.data, key) is None and lookup(to_side.values_file.data, key) is None:
        old_default = str(bool(lookup(from_side.chart.defaults, key, False))).lower()
        new_default = str(bool(lookup(to_side.chart.defaults, key, False))).lower()
        by_default = (
            f"; WARNING: only because the chart default {key} changed from {old_default} "
            f"({from_side.chart.label}) to {new_default} ({to_side.chart.label}), your values never set it"
        )
    if after:
        return [f"converts the monolith{name} to microservices ({key}: false -> true){by_default}"]
    return [f"converts microservices back to the monolith{name} ({key}: true -> false){by_default}"]


def _side_state(case: UpgradeCase, which: str, values: ValuesFile) -> SideState:
    chart = case.chart(which)
    merged = deep_merge(chart.defaults, values.data)
    return SideState(
        case.pair.side(which), chart, values, merged, expectations_for(merged, chart.app_version, chart.reads)
    )


def _rendered_state(state: SideState, rendered: Rendered, case: UpgradeCase) -> SideState:
    return replace(
        state,
        rendered=rendered,
        topology=build_topology(rendered.manifests, case.matcher),
        index=index_manifests(rendered.manifests, case.namespace),
    )


def _lookup_reads(rendered: Rendered | None, before: Rendered) -> Rendered | None:
    """The upgrade render with every stand-in Secret value replaced by the installed Secret's own value, as a real
    ``helm upgrade`` gets it from ``lookup`` (so no rule sees the stand-in as a changed password)."""
    if rendered is None:
        return None
    marker = base64.b64encode(STAND_IN.encode()).decode()
    old = {(m.kind, m.name): m.body for m in before.manifests if m.kind == "Secret"}
    manifests = []
    for m in rendered.manifests:
        data = m.body.get("data") if m.kind == "Secret" else None
        if isinstance(data, dict) and marker in data.values():
            installed = (old.get((m.kind, m.name)) or {}).get("data") or {}
            fixed = {k: installed.get(k, v) if v == marker else v for k, v in data.items()}
            m = replace(m, body={**m.body, "data": fixed})
        manifests.append(m)
    return replace(rendered, manifests=tuple(manifests))


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
    requests = [
        case.request("from", old),
        case.request("to", new),
        case.request("to", new, attempt=1),
        render_request(target_case(case), new),
    ]
    if case.reuse_chart is not None:
        requests.append(case.request("reuse", new))
    return requests


def _reuse_outcome(case: UpgradeCase, old: dict, new: dict) -> ReuseOutcome | None:
    """The new chart as ``helm upgrade --reuse-values -f <to-side values>`` renders it (only on request)."""
    if case.reuse_chart is None:
        return None
    rendered, error = None, None
    try:
        rendered = case.renderer.render(case.request("reuse", new))
    except UserError as exc:
        error = exc.line()
    reused = deep_merge(reused_values(case.from_chart, old), new)
    return ReuseOutcome(rendered, error, tuple(lost_defaults(case.to_chart.defaults, reused)))


def target_case(case: UpgradeCase) -> Case:
    """The to-side as a static-lane case (the release after the upgrade must pass the static lane)."""
    return Case(
        case.to_chart,
        case.pair.to_side.values_path,
        case.renderer,
        release=case.release,
        namespace=case.namespace,
        options=case.options,
        matcher=case.matcher,
    )


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
    to_rendered, to_error, standins = render_upgrade(case.renderer, case.request("to", to_values))
    to_rendered = _lookup_reads(to_rendered, from_rendered)
    if to_rendered is None:
        states["to"] = replace(states["to"], render_error=to_error)
    else:
        states["to"] = _rendered_state(states["to"], to_rendered, case)
        to_again, again_error, _ = render_upgrade(case.renderer, case.request("to", to_values, attempt=1))
        to_again = _lookup_reads(to_again, from_rendered)
    redactor = _redactor(case, list(states.values()), [from_rendered, to_rendered, to_again])
    target = evaluate_case(target_case(case))
    plan = None
    if to_rendered is not None:
        notes = mode_notes(states["from"], states["to"]) + stream_hub_notes(states["from"], states["to"])
        if standins:
            notes.append(
                f"the upgrade render gave {', '.join(standins)} a stand-in value: a real helm upgrade reads them "
                "from the existing Secret with lookup, which helm template cannot"
            )
        plan = plan_upgrade(
            from_rendered.manifests, to_rendered.manifests, case.namespace, [redactor.text(n) for n in notes]
        )
        plan = replace(
            plan,
            resources=tuple(
                replace(
                    r,
                    changes=tuple(
                        FieldChange(c.path, redactor.text(c.old), redactor.text(c.new)) for c in r.changes
                    ),
                )
                for r in plan.resources
            ),
        )
    reuse = _reuse_outcome(case, states["from"].values_file.data, to_values)
    if reuse is not None and reuse.error:
        reuse = replace(reuse, error=redactor.text(reuse.error))
    view = UpgradeView(
        pair, case.namespace, states["from"], states["to"], to_again, again_error, plan, target, reuse
    )
    to_state = states["to"]
    to_side = StaticContext(
        values_file=to_state.values_file,
        merged=to_state.merged,
        chart=case.to_chart,
        expectations=to_state.expectations,
        options=case.options,
        matcher=case.matcher,
        rendered=to_rendered,
        topology=to_state.topology,
        render_error=redactor.text(to_error) if to_error else None,
    )
    ctx = UpgradeContext(to_side, view)
    findings = {r.id: [redact_finding(f, redactor.text) for f in evaluate_rule(ctx, r)] for r in rules}
    return UpgradeResult(case, findings, plan, target=target)
