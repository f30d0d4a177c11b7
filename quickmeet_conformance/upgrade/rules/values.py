"""Upgrade rules on values across chart versions: renamed keys, --reuse-values, pod identity on a volume,
the mode a new default changes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ...chart_reads import reads_path
from ...findings import Finding, Severity
from ...render import Manifest
from ...rules.engine import Rule, rule
from ...schema import ignored_keys
from ...upgrade.plan import (
    ABSENT,
    show_value,
)
from ...values import join_key_path, lookup
from .context import UpgradeContext

_UPGRADES = "CONTRACT.md > Upgrades"

# -- renamed values keys -------------------------------------------------------------------------------


def _has_path(node: Any, path: str) -> bool:
    """Whether ``path`` (as join_key_path builds it) exists in ``node``; list items match the first default."""
    parts = re.findall(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.\[\]]+)', path)
    for quoted, index, plain in parts:
        if index:
            if not isinstance(node, list) or not node:
                return False
            node = node[0]
            continue
        key = quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted else plain
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _user_value(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for quoted, index, plain in re.findall(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.\[\]]+)', path):
        if index:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else ABSENT
        else:
            key = quoted or plain
            node = node.get(key, ABSENT) if isinstance(node, dict) else ABSENT
    return node


@rule(
    "upgrade.renamed-values-keys",
    title="no values key the user sets was renamed or dropped by the new chart version",
    contract="CONTRACT.md > Values contract: Helm silently ignores keys that the chart never reads "
    "(helm upgrade --reuse-values carries a renamed key over and it does nothing)",
    fix="move the value to the key the new chart reads (see 'new key') in the values you upgrade with",
    basis="chart behaviour",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_renamed_values_keys(ctx: UpgradeContext, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    old_chart, new_chart = view.from_side.chart, view.to_side.chart
    values = view.from_side.values_file
    new_values = view.to_side.values_file.data
    for ignored in ignored_keys(values.data, new_chart.defaults, reads=new_chart.reads):
        if not _has_path(old_chart.defaults, ignored.key_path):
            continue  # never a key of the old chart either: the static lane's values.ignored-keys reports typos
        parent = (
            ignored.key_path[: -len(ignored.key)].rstrip(".")
            if ignored.key_path.endswith(ignored.key)
            else ""
        )
        new_key = join_key_path(parent, ignored.suggestion) if ignored.suggestion else ""
        if new_key and _has_path(old_chart.defaults, new_key):
            new_key = ""  # the old chart had that key too: the setting was removed, not renamed
        value = show_value(_user_value(values.data, ignored.key_path))
        known = (
            f"is read by {old_chart.label}"
            if reads_path(old_chart.reads, ignored.key_path)
            else f"is in {old_chart.label}'s values.yaml (though no template of it reads the key)"
        )
        what = f"renamed (the new key is probably {new_key})" if new_key else "removed"
        still_set = _user_value(new_values, ignored.key_path) is not ABSENT
        if still_set or view.reuse is not None:
            how = (
                "your upgrade values still set it (helm upgrade --reuse-values would carry it too)"
                if still_set
                else "helm upgrade --reuse-values (simulated) carries it over"
            )
            yield r.fail(
                ctx,
                f"{ignored.key_path} (set to {value}) {known} but {what} in "
                f"{new_chart.label}: {how} and it does nothing",
                expected=new_key or f"a key {new_chart.label} reads",
                found=f"{ignored.key_path}: {value}",
                field_path=ignored.key_path,
                key_path=ignored.key_path,
                values_file=values,
            )
        else:
            yield r.fail(
                ctx,
                f"{ignored.key_path} (set to {value}) {known} but {what} in "
                f"{new_chart.label}; your upgrade values drop it (right), but helm upgrade --reuse-values "
                "would carry it over and it would do nothing",
                expected=new_key or f"no {ignored.key_path}",
                found=f"{ignored.key_path}: {value}",
                field_path=ignored.key_path,
                key_path=ignored.key_path,
                values_file=values,
                severity=Severity.WARNING,
            )


def _reuse_cause(error: str, missing: tuple[tuple[str, Any], ...]) -> tuple[str, str]:
    """(the lost default the chart's refusal most likely comes from, its key): a key its message names."""
    for path, default in missing:
        if path in error or path.rsplit(".", 1)[-1] in error:
            return (
                f"{path} (default {show_value(default)} in the new chart) is missing from the reused values",
                path,
            )
    return "", ""


@rule(
    "upgrade.reuse-values",
    title="helm upgrade --reuse-values (simulated on request) renders and keeps the new chart's defaults",
    contract=f"{_UPGRADES}: the monolith Deployment must survive ... secrets are kept; CONTRACT.md > Values "
    "contract: Helm silently ignores keys that the chart never reads (--reuse-values keeps the old release's "
    "values in place of the new chart's defaults)",
    fix="upgrade with -f <your full values> (or --reset-then-reuse-values, helm >= 3.14) instead of --reuse-values, "
    "or set the missing keys explicitly",
    basis="chart behaviour",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_reuse_values(ctx: UpgradeContext, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    reuse = view.reuse
    if reuse is None:
        yield r.skip("--reuse-values not requested (pass --reuse-values to simulate it)")
        return
    new_chart = view.to_side.chart
    for path, default in reuse.missing:
        yield r.fail(
            ctx,
            f"under --reuse-values {path} is missing: {new_chart.label}'s default "
            f"{show_value(default)} is not applied (helm keeps the old release's values instead)",
            expected=f"{path}: {show_value(default)}",
            found=f"{path}: (absent)",
            field_path=path,
            key_path=path,
            values_file=view.from_side.values_file,
            severity=Severity.WARNING,
        )
    if reuse.error:
        cause, key = _reuse_cause(reuse.error, reuse.missing)
        yield r.fail(
            ctx,
            f"{new_chart.label} refuses helm upgrade --reuse-values from "
            f"{view.from_side.chart.label}: {reuse.error}" + (f"; likely cause: {cause}" if cause else ""),
            expected="the upgrade renders",
            found="helm upgrade fails",
            field_path=key,
            key_path=key or "image.tag",
            values_file=view.from_side.values_file,
        )


def _pod_identity(manifest: Manifest) -> dict[str, Any]:
    """runAsUser, runAsGroup and fsGroup of the pod (pod-level securityContext; a container's runAsUser/Group
    override when every container sets the same)."""
    spec = ((manifest.body.get("spec") or {}).get("template") or {}).get("spec") or {}
    pod = spec.get("securityContext") or {}
    ids = {k: pod.get(k) for k in ("runAsUser", "runAsGroup", "fsGroup")}
    containers = spec.get("containers") or []
    for key in ("runAsUser", "runAsGroup"):
        own = {str((c.get("securityContext") or {}).get(key)) for c in containers if isinstance(c, dict)}
        if len(own) == 1 and own != {"None"}:
            ids[key] = next(iter(own))
    return {k: v for k, v in ids.items() if v is not None}


def _persistent_volumes(manifest: Manifest) -> list[str]:
    """The persistent volumes a workload's pods mount: PVC volumes and StatefulSet volumeClaimTemplates."""
    spec = manifest.body.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    names = [
        v.get("name", "")
        for v in pod.get("volumes") or []
        if isinstance(v, dict) and v.get("persistentVolumeClaim")
    ]
    names += [
        ((t.get("metadata") or {}).get("name", ""))
        for t in spec.get("volumeClaimTemplates") or []
        if isinstance(t, dict)
    ]
    return [n for n in names if n]


@rule(
    "upgrade.pod-identity-with-volume",
    title="a workload mounting a PersistentVolume keeps its pod user, group and fsGroup across the upgrade",
    contract=f"{_UPGRADES}: MongoDB data and secrets are kept (files the old UID wrote must stay readable: a new "
    "runAsUser/runAsGroup/fsGroup on a mounted PersistentVolume makes them unreadable)",
    fix="keep securityContext.runAsUser/runAsGroup/fsGroup as they were, or chown the volume first (an init "
    "container or volumePermissions) before switching IDs",
    basis="chart behaviour",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_pod_identity_with_volume(ctx: UpgradeContext, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    for _, old, new in view.surviving():
        if new.kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        volumes = sorted(set(_persistent_volumes(old)) & set(_persistent_volumes(new)))
        if not volumes:
            continue
        before, after = _pod_identity(old), _pod_identity(new)
        changed = {
            k: (before.get(k), after.get(k))
            for k in ("runAsUser", "runAsGroup", "fsGroup")
            if str(before.get(k)) != str(after.get(k))
        }
        if not changed:
            continue
        shown = ", ".join(
            f"{k} {a if a is not None else 'unset'} -> {b if b is not None else 'unset'}"
            for k, (a, b) in changed.items()
        )
        yield r.fail(
            ctx,
            f"{new.ref} mounts persistent volume {', '.join(volumes)} and its pods change "
            f"identity ({shown}): files the old user wrote become unreadable after the upgrade",
            expected=", ".join(f"{k} {a}" for k, (a, _) in changed.items()),
            found=shown,
            resource=new.ref,
            field_path="spec.template.spec.securityContext",
            manifest=new,
        )


def _user_sets(values: Any, path: str) -> bool:
    return _user_value(values, path) is not ABSENT


@rule(
    "upgrade.mode-changed-by-default",
    title="the upgrade does not switch monolith/microservices only because the new chart's default changed",
    severity=Severity.WARNING,
    contract=f'{_UPGRADES}: "Convert your monolith deployment" = helm upgrade with microservices.enabled: true '
    "(a conversion the user asks for, not one a new default makes)",
    fix="set microservices.enabled explicitly in your values (false to stay a monolith, true to convert on purpose)",
    basis="chart behaviour",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_mode_changed_by_default(ctx: UpgradeContext, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    before, after = view.from_side.expectations.microservices, view.to_side.expectations.microservices
    if before == after:
        return
    key = "microservices.enabled"
    if _user_sets(view.from_side.values_file.data, key) or _user_sets(view.to_side.values_file.data, key):
        return  # the user chose
    old_default = lookup(view.from_side.chart.defaults, key, False)
    new_default = lookup(view.to_side.chart.defaults, key, False)
    turned = "microservices" if after else "a monolith"
    yield r.fail(
        ctx,
        f"the upgrade turns the release into {turned} only because {key}'s default changed from "
        f"{str(bool(old_default)).lower()} ({view.from_side.chart.label}) to {str(bool(new_default)).lower()} "
        f"({view.to_side.chart.label}); your values never set {key}",
        expected=f"{key} as before ({str(bool(before)).lower()}) unless set on purpose",
        found=f"{key} default {str(bool(old_default)).lower()} -> {str(bool(new_default)).lower()}",
        field_path=key,
        key_path=key,
        values_file=view.to_side.values_file,
    )
