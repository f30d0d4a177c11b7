"""Helm's own semantics (CONTRACT.md > Helm's semantics that a check must reproduce): what the first
``helm upgrade`` of the same values removes, and dependency conditions read exactly as helm reads them.

The pipeline renders the values a second time with ``--is-upgrade`` only when the chart has an
``.Release.IsInstall``/``IsUpgrade`` switch these values flip (``pipeline.switches_in_play``); the rules here
compare the two renders. Dependency conditions are evaluated by ``charts.evaluate_condition``, helm's
algorithm (``pkg/chartutil`` ``processDependencyEnabled``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..chart_reads import ReleaseSwitch
from ..charts import Dependency, evaluate_condition
from ..findings import Finding, Location, Severity
from ..render import Manifest
from ..values import lookup
from .chart_defects import condition_remedy
from .context import RenderedContext, StaticContext
from .engine import Rule, rule

_SEMANTICS = "CONTRACT.md > Helm's semantics that a check must reproduce"
_MISSING: Any = object()


def is_hook(manifest: Manifest) -> bool:
    # helm runs hooks on their own events and never keeps them as release resources
    return "helm.sh/hook" in ((manifest.body.get("metadata") or {}).get("annotations") or {})


def _named(items: Any) -> dict[str, Any] | None:
    if not isinstance(items, list) or not items:
        return None
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    keys = [n for n in names if isinstance(n, str)]
    if len(keys) == len(items) and len(set(keys)) == len(keys):
        return dict(zip(keys, items, strict=True))
    return None


def lost_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Field paths the install render has and the upgrade render lacks; lists of named maps (containers, env,
    volumes) compare by name. Values that merely differ are not reported: a chart's random passwords and their
    checksums differ between any two renders (the upgrade lane's twice-rendered check covers those)."""
    if old == new:
        return []
    if new is _MISSING:
        return [path]
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            x
            for k in old
            for x in lost_paths(old[k], new.get(k, _MISSING), f"{path}.{k}" if path else str(k))
        ]
    before = _named(old)
    if before is not None and isinstance(new, list):
        after = _named(new) or {}
        if after or not new:
            return [
                x
                for n, item in before.items()
                for x in lost_paths(item, after.get(n, _MISSING), f"{path}[name={n}]")
            ]
    return []


# what a workload keeps running without, though it changes: an env var or a Secret key (the pods restart
# without it); anything else lost (a volume, a mount, a container, a whole object) breaks what used it
_SOFT = re.compile(r"(\.env\[name=([^\]]+)\]|^data\.[^.]+|^stringData\.[^.]+)$")
# env vars the contract's wiring needs (CONTRACT.md > Wiring): losing one is an error, not a restart
WIRING_ENV = frozenset({"MONGO_URL", "MONGO_OPLOG_URL", "TRANSPORTER", "PORT", "ROOT_URL", "INSTANCE_IP"})


def soft_loss(path: str) -> bool:
    """A lost env var or Secret key the workload can start without (not one of the contract's wiring)."""
    match = _SOFT.search(path)
    return bool(match) and match.group(2) not in WIRING_ENV if match else False


def _manifest_key(m: Manifest) -> tuple[str, str, str]:
    return (m.kind, m.namespace, m.name)


def _template_of(manifest: Manifest) -> str:
    """The chart-relative template path of a manifest (``templates/x.yaml``, ``charts/nats/templates/y.yaml``)."""
    return manifest.source.split("/", 1)[1] if "/" in manifest.source else manifest.source


def switch_for(switches: tuple[ReleaseSwitch, ...], manifest: Manifest, path: str) -> list[ReleaseSwitch]:
    """The switch lines behind a lost field: in the manifest's template, the one whose guarded block names the
    lost item (REG_TOKEN under ``if and .Values.registrationToken .Release.IsInstall``), else every one there."""
    template = _template_of(manifest)
    here = [s for s in switches if s.file == template] or list(switches)
    name = path.rsplit("[name=", 1)[-1].rstrip("]") if "[name=" in path else path.rsplit(".", 1)[-1]
    named = [s for s in here if name and name in s.block]
    return named[:1] or here


def _secret_keys(manifest: Manifest) -> dict[str, Any]:
    return {**(manifest.body.get("data") or {}), **(manifest.body.get("stringData") or {})}


@rule(
    "helm.install-only",
    title="the first helm upgrade of the same values keeps what helm install gave each workload",
    contract=f"{_SEMANTICS}: `helm upgrade` renders with `.Release.IsUpgrade` true and `.Release.IsInstall` "
    "false: a template that emits something only on install (an env var, a Secret key) removes it on the first "
    "upgrade",
    fix="make the template emit it on install and upgrade alike (drop the .Release.IsInstall test, or keep the "
    "value in a Secret the chart always renders), or unset the value after the first install on purpose",
    basis="chart behaviour",
)
def rule_install_only(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    if not ctx.switches:
        yield r.skip("the chart emits nothing only on install or only on upgrade for these values")
        return
    if ctx.upgrade_rendered is None:
        reason = ctx.upgrade_render_error or "no upgrade render"
        lines = ", ".join(s.where for s in ctx.switches)
        yield r.fail(
            ctx,
            f"helm install renders these values but the first helm upgrade of the same values is refused "
            f"({lines}): {reason}",
            expected="helm upgrade with the same values renders",
            found=reason,
            field_path=lines,
        )
        return
    installed = {_manifest_key(m): m for m in ctx.rendered.manifests} if ctx.rendered else {}
    upgraded = {_manifest_key(m): m for m in ctx.upgrade_rendered.manifests}
    standins = (
        f" (the upgrade render gave {', '.join(ctx.upgrade_standins)} a stand-in value, as a real upgrade reads "
        "them from the existing Secret with lookup)"
        if ctx.upgrade_standins
        else ""
    )
    for key, old in installed.items():
        if is_hook(old):
            continue
        new = upgraded.get(key)
        lost = ["(whole object)"] if new is None else lost_paths(old.body, new.body)
        for path in lost:
            if path.startswith("metadata.labels"):
                continue
            if old.kind == "Secret" and path.startswith(("data.", "stringData.")):
                shown = f"key {path.split('.', 1)[1]}"
            elif path.endswith("]") and "[name=" in path:
                kind = path.rsplit("[name=", 1)[0].rsplit(".", 1)[-1]
                shown = f"{kind} {path.rsplit('[name=', 1)[1].rstrip(']')} ({path})"
            else:
                shown = path
            where = switch_for(ctx.switches, old, old.name if new is None else path)
            tests = "; ".join(f"{s.where}: {s.text}" for s in where)
            yield r.fail(
                ctx,
                f"{old.ref} {shown} is there after helm install and gone after the first helm upgrade of the "
                f"same values: the template tests {tests}{standins}",
                expected=f"{shown} kept on upgrade",
                found="removed by the first upgrade",
                resource=old.ref,
                field_path="" if new is None else path,
                manifest=old,
                severity=Severity.WARNING if new is not None and soft_loss(path) else None,
            )


def _chart_yaml(ctx: StaticContext | RenderedContext) -> Location:
    return Location(f"{ctx.chart.label}/Chart.yaml", "dependencies")


@rule(
    "helm.dependency-condition",
    title="every dependency condition is one helm can read, and the values answer it with a boolean",
    contract=f"{_SEMANTICS}: a dependency's `condition` is a comma-separated list of value paths; helm takes the "
    "first path that resolves to a boolean, and splits the list on `,` without trimming, so `a, b` never reads "
    "`b`. When no path resolves, the subchart is enabled",
    fix="in Chart.yaml write conditions without blanks ('a,b'); in your values give the condition a boolean "
    '(true/false, not the string "false")',
    basis="chart behaviour",
    needs_render=False,
)
def rule_dependency_condition(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
    for dep in ctx.chart.dependencies:
        if not dep.condition:
            continue
        outcome = evaluate_condition(dep, ctx.merged)
        for part in outcome.unreadable:
            trimmed = part.strip()
            value = lookup(ctx.merged, trimmed)
            matters = not outcome.decided_by and isinstance(value, bool) and value != outcome.enabled
            effect = (
                f"here it matters: {trimmed} is {str(value).lower()} in these values, yet {dep.key} is "
                f"{'enabled' if outcome.enabled else 'disabled'}"
                if matters
                else (
                    f"with these values {outcome.decided_by} decides"
                    if outcome.decided_by
                    else f"with these values no path resolves and {dep.key} is enabled, which is what {trimmed} "
                    "would say"
                )
                + "; values relying on it are ignored"
            )
            finding = r.fail(
                ctx,
                f"Chart.yaml dependency {dep.name} has condition {dep.condition!r}: helm splits it on ',' without "
                f"trimming and looks up the key {part!r} (with the blank), which no values file sets; {effect}",
                expected=f"condition {','.join(p.strip() for p in dep.condition.split(','))!r}",
                found=f"condition {dep.condition!r}",
                resource=f"{ctx.chart.label}/Chart.yaml",
                field_path=f"dependencies[name={dep.name}].condition",
                severity=None if matters else Severity.WARNING,
                remedy=condition_remedy(ctx.chart, dep, part, value),
            )
            yield replace(finding, location=_chart_yaml(ctx))
        for path, value in outcome.not_boolean:
            shown = json.dumps(value, default=str)
            state = "enabled" if outcome.enabled else "disabled"
            by = f" by {outcome.decided_by}" if outcome.decided_by else " (no path resolved to a boolean)"
            yield r.fail(
                ctx,
                f"{path} is {shown}, not a boolean: helm skips it when it evaluates the condition of dependency "
                f"{dep.name}, so {dep.key} is {state}{by}",
                expected=f"{path}: true or false",
                found=f"{path}: {shown}",
                field_path=path,
                key_path=path if ctx.values_file.position(path) else "",
            )


def _subchart_of(manifest: Manifest, deps: dict[str, Dependency]) -> Dependency | None:
    parts = manifest.source.split("/")
    if len(parts) > 3 and parts[1] == "charts":
        return deps.get(parts[2])
    return None


def _text_of(manifest: Manifest) -> str:
    """The manifest as text, with Secret data decoded (a connection string usually sits in a Secret)."""
    body = manifest.body
    if manifest.kind == "Secret":
        decoded = {}
        for key, value in (body.get("data") or {}).items():
            try:
                decoded[key] = base64.b64decode(str(value)).decode("utf-8", errors="replace")
            except ValueError:
                decoded[key] = str(value)
        body = {**body, "data": decoded}
    return json.dumps(body, default=str)


_EXTERNAL_KEYS = {"mongodb": ("externalMongodbUrl",)}  # values that point the release at a server elsewhere


def _names_host(corpus: str, name: str) -> bool:
    """``name`` appears as a host or object name (not as the prefix of a longer name) in ``corpus``."""
    return re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", corpus) is not None


@rule(
    "helm.unused-subchart",
    title="a subchart the release renders is used by something in the release",
    severity=Severity.WARNING,
    contract=f"{_SEMANTICS}: a dependency's condition decides whether its subchart renders; CONTRACT.md > "
    "Connections: every connection a component makes resolves to a Service of the release or outside it",
    fix="disable the subchart (its condition, e.g. mongodb.enabled: false) when the release connects elsewhere, "
    "or point the connection at it",
    basis="chart behaviour",
)
def rule_unused_subchart(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    if ctx.rendered is None:
        return
    deps = {d.name: d for d in ctx.chart.dependencies}
    by_sub: dict[str, list[Manifest]] = {}
    own: list[Manifest] = []
    for m in ctx.rendered.manifests:
        dep = _subchart_of(m, deps)
        (by_sub.setdefault(dep.name, []) if dep else own).append(m)
    corpus = "\n".join(_text_of(m) for m in own)
    for name, manifests in by_sub.items():
        dep = deps[name]
        workloads = [m for m in manifests if m.kind in ("Deployment", "StatefulSet", "DaemonSet")]
        services = [m.name for m in manifests if m.kind == "Service"]
        if not workloads or not services:
            continue
        if any(_names_host(corpus, s) for s in services):
            continue
        outside = [k for k in _EXTERNAL_KEYS.get(dep.key, ()) if lookup(ctx.merged, k)]
        if not outside:
            secrets = {m.name for m in ctx.rendered.manifests if m.kind == "Secret"}
            refs = {
                ref
                for m in own
                if m.kind in ("Deployment", "StatefulSet", "DaemonSet")
                for ref in _secret_refs(m.body)
                if ref not in secrets
            }
            if refs:
                yield r.skip(
                    f"not judged for {dep.key}: the release reads connection settings from Secrets it does not "
                    f"render ({', '.join(sorted(refs))}), which may point at {services[0]}"
                )
                continue
        why = f" ({', '.join(outside)} set: the release connects elsewhere)" if outside else ""
        condition = dep.condition.split(",")[0].strip() if dep.condition else ""
        yield r.fail(
            ctx,
            f"subchart {dep.key} renders {', '.join(m.ref for m in workloads)} but nothing else in the release "
            f"connects to its Service(s) {', '.join(services)}{why}: it runs for nothing",
            expected=f"{dep.key} used, or disabled" + (f" ({condition}: false)" if condition else ""),
            found=f"{dep.key} enabled, unused",
            resource=workloads[0].ref,
            key_path=condition if condition and ctx.values_file.position(condition) else "",
            manifest=workloads[0],
        )


def _secret_refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("secretKeyRef")
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            yield ref["name"]
        for value in node.values():
            yield from _secret_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _secret_refs(item)
