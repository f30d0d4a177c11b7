"""Upgrade rules on what the API server accepts: no immutable field changes, no kind change under a name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...findings import Finding
from ...render import Manifest
from ...rules.engine import Rule, rule
from ...upgrade.plan import (
    ABSENT,
    diff_values,
    show_secret,
    show_value,
)
from ...upgrade.quantities import parse_quantity
from ...values import lookup
from .context import RenderedUpgrade

_UPGRADES = "CONTRACT.md > Upgrades"

# Fields the API server refuses to change on an existing object (apps/v1, batch/v1, core/v1 validation).
_IMMUTABLE_PATHS = {
    "Deployment": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "StatefulSet": (
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.podManagementPolicy",
    ),
    "Job": ("spec.template",),
}
_API_DEFAULTS = {("StatefulSet", "spec.podManagementPolicy"): "OrderedReady"}


def _is_hook(manifest: Manifest) -> bool:
    # helm deletes and recreates hook resources (before-hook-creation is its default policy), never patches them
    annotations = (manifest.body.get("metadata") or {}).get("annotations") or {}
    return "helm.sh/hook" in annotations


def _field(body: dict[str, Any], kind: str, path: str) -> Any:
    value = lookup(body, path, ABSENT)
    return _API_DEFAULTS.get((kind, path), value) if value is ABSENT else value


def _immutable_change(
    r: Rule, ctx: RenderedUpgrade, manifest: Manifest, path: str, old: Any, new: Any, why: str
) -> Finding:
    secret = manifest.kind == "Secret" and path.startswith(("data", "stringData", "binaryData"))
    before = show_secret(old, "before") if secret else show_value(old)
    after = show_secret(new, "after") if secret else show_value(new)
    return r.fail(
        ctx,
        f"{manifest.ref} {path} changes {before} -> {after}: {why}",
        expected=f"{before} (immutable)",
        found=after,
        resource=manifest.ref,
        field_path=path,
        manifest=manifest,
    )


def _service_changes(r: Rule, ctx: RenderedUpgrade, old: Manifest, new: Manifest) -> Iterable[Finding]:
    old_spec, new_spec = old.body.get("spec") or {}, new.body.get("spec") or {}
    why = "spec.clusterIP is immutable once set: the API server rejects the upgrade"
    for key in ("clusterIP", "clusterIPs"):
        before, after = old_spec.get(key), new_spec.get(key)
        if before and after and before != after:
            yield _immutable_change(r, ctx, new, f"spec.{key}", before, after, why)
    # A type change to ExternalName that drops the pinned IP is accepted: the API server clears clusterIP
    # itself (the live lane showed it on a real API server), so it is not predicted as a rejection.


def _pvc_changes(r: Rule, ctx: RenderedUpgrade, old: Manifest, new: Manifest) -> Iterable[Finding]:
    storage = "resources.requests.storage"
    old_spec, new_spec = dict(old.body.get("spec") or {}), dict(new.body.get("spec") or {})
    old_size, new_size = lookup(old_spec, storage, ABSENT), lookup(new_spec, storage, ABSENT)
    for spec in (old_spec, new_spec):
        spec["resources"] = {
            **(spec.get("resources") or {}),
            "requests": {
                k: v
                for k, v in ((spec.get("resources") or {}).get("requests") or {}).items()
                if k != "storage"
            },
        }
    for path, before, after in diff_values(old_spec, new_spec, "spec"):
        yield _immutable_change(
            r, ctx, new, path, before, after, "a bound PVC's spec is immutable except for storage growth"
        )
    if old_size != new_size:
        before_q, after_q = parse_quantity(old_size), parse_quantity(new_size)
        if before_q is None or after_q is None or after_q < before_q:
            yield _immutable_change(
                r, ctx, new, f"spec.{storage}", old_size, new_size, "a PVC can grow but never shrink"
            )


def _immutable_data_changes(r: Rule, ctx: RenderedUpgrade, old: Manifest, new: Manifest) -> Iterable[Finding]:
    if old.body.get("immutable") is not True:
        return
    why = f"{old.kind} is immutable: true, its data cannot change (delete and recreate it under a new name)"
    for key in ("data", "stringData", "binaryData"):
        for path, before, after in diff_values(old.body.get(key) or {}, new.body.get(key) or {}, key):
            yield _immutable_change(r, ctx, new, path, before, after, why)
    if new.body.get("immutable") is not True:
        yield _immutable_change(r, ctx, new, "immutable", True, new.body.get("immutable", ABSENT), why)


@rule(
    "upgrade.immutable-fields",
    title="no immutable field changes on a resource the upgrade keeps",
    contract=f"{_UPGRADES}: Deployment spec.selector, StatefulSet volumeClaimTemplates/serviceName/selector, "
    "Service clusterIP, PVC specs and Job templates are immutable: an upgrade that changes them fails at the "
    "API server",
    fix="keep selectors, StatefulSet identity fields, pinned clusterIPs, PVC specs and Job templates stable "
    "across chart versions (put new labels on the pod template only), or rename the resource deliberately",
    basis="chart behaviour",
    lane="upgrade",
)
def rule_upgrade_immutable_fields(ctx: RenderedUpgrade, r: Rule) -> Iterable[Finding]:
    for _key, old, new in ctx.view.surviving():
        if _is_hook(old) or _is_hook(new):
            continue
        for path in _IMMUTABLE_PATHS.get(new.kind, ()):
            before, after = _field(old.body, old.kind, path), _field(new.body, new.kind, path)
            for where, was, now in diff_values(before, after, path):
                yield _immutable_change(
                    r,
                    ctx,
                    new,
                    where,
                    was,
                    now,
                    f"{new.kind} {path} is immutable: the API server rejects the upgrade",
                )
        if new.kind == "Service":
            yield from _service_changes(r, ctx, old, new)
        elif new.kind == "PersistentVolumeClaim":
            yield from _pvc_changes(r, ctx, old, new)
        elif new.kind in ("Secret", "ConfigMap"):
            yield from _immutable_data_changes(r, ctx, old, new)


@rule(
    "upgrade.kind-change",
    title="no resource changes kind (or API group) under the same name",
    contract=f"{_UPGRADES}: the upgrade keeps what it does not mean to replace (a new kind under an old name "
    "is a delete and a create)",
    fix="keep the kind and its API group, or give the new object a new name and migrate deliberately",
    basis="chart behaviour",
    lane="upgrade",
)
def rule_upgrade_kind_change(ctx: RenderedUpgrade, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    # helm matches a release's resources by API group, kind, namespace and name (not by version)
    created = {(k[2], k[3]): (k, m) for k, m in view.created()}
    for key, old in view.deleted():
        new_key, new = created.get((key[2], key[3]), (None, None))
        if new is None or new_key is None:
            continue
        if _is_hook(old) or _is_hook(new):  # helm never upgrades a hook: it runs it anew (hook-delete-policy)
            continue
        if new.kind != old.kind:
            yield r.fail(
                ctx,
                f"{old.ref} becomes {new.ref}: helm deletes the {old.kind} (and its pods) and creates a "
                f"{new.kind} under the same name",
                expected=old.kind,
                found=new.kind,
                resource=new.ref,
                field_path="kind",
                manifest=new,
            )
        elif new_key[0] != key[0]:
            before, after = key[0] or "core", new_key[0] or "core"
            yield r.fail(
                ctx,
                f"{old.ref} moves from API group {before} to {after}: helm sees another resource, creates "
                f"it under the same name (refused when both groups serve the same object) and deletes the "
                f"old one",
                expected=old.api_version,
                found=new.api_version,
                resource=new.ref,
                field_path="apiVersion",
                manifest=new,
            )
