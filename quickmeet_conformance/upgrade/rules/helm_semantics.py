"""Upgrade rules on helm's own semantics (CONTRACT.md > Helm's semantics that a check must reproduce):
what this upgrade removes only because the new chart emits it on install alone, and what
``helm upgrade --reuse-values`` renders differently because keys the new chart needs stay unset."""

from __future__ import annotations

from collections.abc import Iterable

from ...chart_reads import WHOLE, ReadTree, read_child
from ...findings import Finding, Severity
from ...render import Manifest
from ...rules.engine import Rule, rule
from ...rules.helm_semantics import is_hook, lost_paths, soft_loss, switch_for
from ...upgrade.plan import ResourceKey, index_manifests, key_ref
from .context import RenderedUpgrade, UpgradeContext

_SEMANTICS = "CONTRACT.md > Helm's semantics that a check must reproduce"


@rule(
    "upgrade.install-only",
    title="the upgrade removes nothing only because the new chart emits it on install alone",
    contract=f"{_SEMANTICS}: `helm upgrade` renders with `.Release.IsUpgrade` true and `.Release.IsInstall` "
    "false: a template that emits something only on install removes it on the first upgrade",
    fix="make the new chart emit it on upgrade too (drop the .Release.IsInstall test), or drop the value from "
    "the release on purpose",
    basis="chart behaviour",
    lane="upgrade",
)
def rule_upgrade_install_only(ctx: RenderedUpgrade, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    switches = view.to_side.chart.release_switches
    installed_new = view.target.rendered
    if not switches or installed_new is None:
        return
    fresh = index_manifests(installed_new.manifests, view.namespace)
    for key, old in view.from_side.index.items():
        if is_hook(old):
            continue
        new, fresh_new = view.to_side.index.get(key), fresh.get(key)
        if fresh_new is None:
            continue  # the new chart drops it on install too: a chart change, not an install-only switch
        if new is None:
            lost = ["(whole object)"]
        else:
            on_install = set(lost_paths(old.body, fresh_new.body))
            lost = [p for p in lost_paths(old.body, new.body) if p not in on_install]
        for path in lost:
            where = switch_for(switches, fresh_new, old.name if new is None else path)
            tests = "; ".join(f"{s.where}: {s.text}" for s in where)
            yield r.fail(
                ctx,
                f"{key_ref(key)} {path}: installed by {view.from_side.chart.label}, and "
                f"{view.to_side.chart.label} renders it on install but not on upgrade, so this upgrade removes "
                f"it: the template tests {tests}",
                expected=f"{path} kept",
                found="removed by the upgrade (emitted on install only)",
                resource=key_ref(key),
                field_path="" if new is None else path,
                manifest=fresh_new,
                severity=Severity.WARNING if new is not None and soft_loss(path) else None,
            )


def _is_read(tree: ReadTree, path: str) -> bool:
    node: ReadTree | None = tree
    for part in path.split("."):
        if node is None:
            return False
        if WHOLE in node:
            return True
        node = read_child(node, part)
    return node is not None


def _diff_objects(
    fresh: dict[ResourceKey, Manifest],
    reused: dict[ResourceKey, Manifest],
    random: set[tuple[ResourceKey, str]],
) -> list[tuple[ResourceKey, str]]:
    found: list[tuple[ResourceKey, str]] = []
    for key, manifest in fresh.items():
        other = reused.get(key)
        paths = ["(whole object)"] if other is None else lost_paths(manifest.body, other.body)
        found += [(key, p) for p in paths if (key, p) not in random]
    return found


@rule(
    "upgrade.reuse-values-needed-keys",
    title="under helm upgrade --reuse-values (simulated on request) no object, container, env var or volume is "
    "missing because a key the new chart reads stays unset",
    contract=f"{_SEMANTICS}: `--reuse-values` takes the previous release's values and does not merge the new "
    "chart's changed defaults; keys the new chart needs but the old values lack stay unset",
    fix="upgrade with -f <your full values> (or --reset-then-reuse-values, helm >= 3.14), or set the listed keys "
    "in the values you upgrade with",
    basis="chart behaviour",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_reuse_needed_keys(ctx: UpgradeContext, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    reuse = view.reuse
    if reuse is None:
        yield r.skip("--reuse-values not requested (pass --reuse-values to simulate it)")
        return
    if reuse.rendered is None or view.to_side.rendered is None:
        yield r.skip("not judged: the new chart did not render both ways (upgrade.reuse-values says why)")
        return
    reads = view.to_side.chart.reads
    needed = [(p, d) for p, d in reuse.missing if _is_read(reads, p)]
    if not needed:
        return
    fresh = view.to_side.index
    again = index_manifests(view.to_again.manifests, view.namespace) if view.to_again else fresh
    random = set(_diff_objects(fresh, again, set()))  # what differs between two fresh renders is random
    reused = index_manifests(reuse.rendered.manifests, view.namespace)
    keys = ", ".join(p for p, _ in needed[:6]) + (f" and {len(needed) - 6} more" if len(needed) > 6 else "")
    for key, path in _diff_objects(fresh, reused, random):
        yield r.fail(
            ctx,
            f"under --reuse-values {key_ref(key)} {path} is missing, though a fresh upgrade with the same values "
            f"renders it: the new chart's templates read {keys}, which the reused values lack (the new defaults "
            "are not applied)",
            expected=f"{path} as the fresh upgrade renders it",
            found="(absent) under --reuse-values",
            resource=key_ref(key),
            field_path="" if path == "(whole object)" else path,
            key_path=needed[0][0],
            values_file=view.from_side.values_file,
            severity=Severity.WARNING if soft_loss(path) or path.startswith("metadata.") else None,
        )
