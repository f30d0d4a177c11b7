"""Upgrade-path rules (CONTRACT.md > Upgrades): what ``helm upgrade`` from one render to another breaks.

Each rule reads ``ctx.upgrade`` (both sides, the plan, the to-side rendered twice, the to-side's static
lane); the rest of the context is the to-side. Secret values are never printed, only masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..charts import Chart
from ..findings import Finding, Severity, blocks_run, passed
from ..redact import CREDENTIAL_VALUES_PATH, PASSWORD_DATA_KEY, URI_CREDENTIALS, URI_KEY
from ..render import Manifest
from ..schema import ignored_keys
from ..topology import MONGODB, MONOLITH, STREAM_HUB, Workload
from ..upgrade import (
    ABSENT,
    ResourceKey,
    UpgradeView,
    diff_values,
    parse_quantity,
    resource_key,
    secret_text,
    show_secret,
    show_value,
)
from ..values import join_key_path, lookup
from .engine import RULES, Context, Rule, evaluate_rule, rule

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


def _view(ctx: Context) -> UpgradeView:
    if ctx.upgrade is None:
        raise ValueError("an upgrade rule ran without an upgrade context")
    return ctx.upgrade


def _is_hook(manifest: Manifest) -> bool:
    # helm deletes and recreates hook resources (before-hook-creation is its default policy), never patches them
    annotations = (manifest.body.get("metadata") or {}).get("annotations") or {}
    return "helm.sh/hook" in annotations


def _field(body: dict[str, Any], kind: str, path: str) -> Any:
    value = lookup(body, path, ABSENT)
    return _API_DEFAULTS.get((kind, path), value) if value is ABSENT else value


def _immutable_change(
    r: Rule, ctx: Context, manifest: Manifest, path: str, old: Any, new: Any, why: str
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


def _service_changes(r: Rule, ctx: Context, old: Manifest, new: Manifest) -> Iterable[Finding]:
    old_spec, new_spec = old.body.get("spec") or {}, new.body.get("spec") or {}
    why = "spec.clusterIP is immutable once set: the API server rejects the upgrade"
    for key in ("clusterIP", "clusterIPs"):
        before, after = old_spec.get(key), new_spec.get(key)
        if before and after and before != after:
            yield _immutable_change(r, ctx, new, f"spec.{key}", before, after, why)
    # A type change to ExternalName that drops the pinned IP is accepted: the API server clears clusterIP
    # itself (the live lane showed it on a real API server), so it is not predicted as a rejection.


def _pvc_changes(r: Rule, ctx: Context, old: Manifest, new: Manifest) -> Iterable[Finding]:
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


def _immutable_data_changes(r: Rule, ctx: Context, old: Manifest, new: Manifest) -> Iterable[Finding]:
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
def rule_upgrade_immutable_fields(ctx: Context, r: Rule) -> Iterable[Finding]:
    for _key, old, new in _view(ctx).surviving():
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
def rule_upgrade_kind_change(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
    # helm matches a release's resources by API group, kind, namespace and name (not by version)
    created = {(k[2], k[3]): (k, m) for k, m in view.created()}
    for key, old in view.deleted():
        new_key, new = created.get((key[2], key[3]), (None, None))
        if new is None or new_key is None:
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


# -- data survives -------------------------------------------------------------------------------------

_MONGO_PASSWORD_KEY = re.compile(r"(?i)mongo.*pass|pass.*mongo")


def _data_secrets(view: UpgradeView) -> dict[ResourceKey, Manifest]:
    """From-side Secrets holding mongo-uri or MongoDB passwords (named by the MongoDB pods' env, or by key)."""
    side = view.from_side
    referenced = {
        var.secret_name
        for w in side.topology.components(MONGODB)
        for c in w.containers
        for var in c.env
        if var.secret_name
    }
    found = {}
    for key, manifest in side.index.items():
        if manifest.kind != "Secret":
            continue
        keys = set(manifest.body.get("data") or {}) | set(manifest.body.get("stringData") or {})
        if (
            "mongo-uri" in keys
            or manifest.name in referenced
            or any(_MONGO_PASSWORD_KEY.search(k) for k in keys)
        ):
            found[key] = manifest
    return found


def _user_moved_data(view: UpgradeView) -> str:
    """The values change that moves MongoDB off the chart (deliberate), or ""."""
    for key in ("mongodb.enabled", "existingMongodbSecret", "externalMongodbUrl"):
        before, after = lookup(view.from_side.merged, key), lookup(view.to_side.merged, key)
        if (before or None) != (after or None):
            shown = "(set)" if "Url" in key else None
            return f"{key}: {shown or show_value(before)} -> {shown or show_value(after)}"
    return ""


def _vct_names(workload: Workload) -> list[str]:
    templates = (workload.manifest.body.get("spec") or {}).get("volumeClaimTemplates") or []
    return [str((t.get("metadata") or {}).get("name", "")) for t in templates if isinstance(t, dict)]


def _secret_keys(manifest: Manifest) -> set[str]:
    return set(manifest.body.get("data") or {}) | set(manifest.body.get("stringData") or {})


@rule(
    "upgrade.data-survives",
    title="the MongoDB StatefulSet, its volume claim templates and the MongoDB secrets survive the upgrade",
    contract=f'{_UPGRADES}: "Convert your monolith deployment" ... MongoDB data and secrets are kept',
    fix="keep the MongoDB StatefulSet's name and volumeClaimTemplates and the Secrets holding mongo-uri and the "
    "MongoDB passwords under the same names (or move the data first, then switch to an external MongoDB)",
    basis="doc",
    lane="upgrade",
)
def rule_upgrade_data_survives(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
    moved = _user_moved_data(view)
    severity = Severity.WARNING if moved else None
    because = f" (the values change {moved}: migrate the data first)" if moved else ""
    after_mongo = view.to_side.topology.components(MONGODB)
    for workload in view.from_side.topology.components(MONGODB):
        key = resource_key(workload.manifest, view.namespace)
        survivor = view.to_side.index.get(key)
        if survivor is None:
            others = [w for w in after_mongo if resource_key(w.manifest, view.namespace) != key]
            if others:
                yield r.fail(
                    ctx,
                    f"the MongoDB {workload.ref} is renamed to {others[0].ref}: helm deletes it and starts "
                    f"an empty one; its PVCs {', '.join(_vct_names(workload)) or '(none)'} are left behind",
                    expected=workload.ref,
                    found=others[0].ref,
                    resource=workload.ref,
                    field_path="metadata.name",
                    manifest=others[0].manifest,
                    severity=severity,
                )
            else:
                yield r.fail(
                    ctx,
                    f"the MongoDB {workload.ref} is deleted by the upgrade{because}",
                    expected=workload.ref,
                    found="(deleted)",
                    resource=workload.ref,
                    field_path="metadata.name",
                    manifest=workload.manifest,
                    severity=severity,
                )
            continue
        kept = [w for w in after_mongo if resource_key(w.manifest, view.namespace) == key]
        new_names = _vct_names(kept[0]) if kept else []
        for name in _vct_names(workload):
            if name not in new_names:
                yield r.fail(
                    ctx,
                    f"the MongoDB {workload.ref} volume claim template {name!r} is gone: the PVCs "
                    f"{name}-{workload.name}-N holding the data are no longer mounted",
                    expected=name,
                    found=", ".join(new_names) or "(none)",
                    resource=workload.ref,
                    field_path="spec.volumeClaimTemplates",
                    manifest=survivor,
                    severity=severity,
                )
    created_secrets = [m for _k, m in view.created() if m.kind == "Secret"]
    for key, secret in _data_secrets(view).items():
        if key in view.to_side.index:
            continue
        twin = next((m for m in created_secrets if _secret_keys(m) == _secret_keys(secret)), None)
        what = ", ".join(sorted(_secret_keys(secret)))
        if twin is not None:
            yield r.fail(
                ctx,
                f"{secret.ref} (holding {what}) is renamed to {twin.ref}",
                expected=secret.ref,
                found=twin.ref,
                resource=secret.ref,
                field_path="metadata.name",
                manifest=twin,
                severity=severity,
            )
        else:
            yield r.fail(
                ctx,
                f"{secret.ref} (holding {what}) is deleted by the upgrade{because}",
                expected=secret.ref,
                found="(deleted)",
                resource=secret.ref,
                field_path="metadata.name",
                manifest=secret,
                severity=severity,
            )


# -- generated secrets ---------------------------------------------------------------------------------

_PASSWORD_KEY = PASSWORD_DATA_KEY
_URI_KEY = URI_KEY
_URI_CREDENTIALS = URI_CREDENTIALS
_CREDENTIAL_VALUE = CREDENTIAL_VALUES_PATH


def _secret_values(manifest: Manifest) -> dict[str, Any]:
    values = {
        f"data.{k}" if re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", k) else f'data["{k}"]': v
        for k, v in (manifest.body.get("data") or {}).items()
    }
    values.update(
        {join_key_path("stringData", k): v for k, v in (manifest.body.get("stringData") or {}).items()}
    )
    return values


def _uses_lookup(chart: Chart, manifest: Manifest) -> bool:
    """Whether the template behind ``manifest`` (or a helper) calls lookup, the usual guard that reuses the live
    Secret: render-only checks cannot tell whether it would find one."""
    _, _, relative = manifest.source.partition("/")
    files = [chart.path / relative] if relative else []
    files += sorted((chart.path / "templates").glob("*.tpl"))
    for path in files:
        try:
            if re.search(r"\blookup\b", path.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


def _credential(path: str, value: Any) -> str | None:
    """The password a Secret value carries: the value itself, or the password inside a URI; None if neither."""
    key = path.split(".", 1)[-1]
    text = secret_text(value)
    if _URI_KEY.search(key):
        match = _URI_CREDENTIALS.search(text)
        return match.group("pw") if match else None
    return text if _PASSWORD_KEY.search(key) else None


def _credential_inputs(node: Any, path: str = "") -> dict[str, str]:
    """The user's password-like values (by key path), to tell a password the user changed from one that moved."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            found.update(_credential_inputs(value, join_key_path(path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.update(_credential_inputs(value, join_key_path(path, index)))
    elif _CREDENTIAL_VALUE.search(path):
        found[path] = str(node)
    return found


@rule(
    "upgrade.stable-secrets",
    title="generated passwords stay the same: no random values, no password change the user did not make",
    contract=f"{_UPGRADES}: MongoDB data and secrets are kept (a password generated anew on each render, e.g. "
    "randAlphaNum, replaces the one the data was created with)",
    fix="derive generated secrets deterministically, or keep the live value with lookup() / an existing Secret; "
    "keep default passwords stable across chart versions",
    basis="chart behaviour",
    lane="upgrade",
)
def rule_upgrade_stable_secrets(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
    if view.to_again is None:
        yield r.fail(
            ctx,
            f"the to-side rendered once but not a second time: {view.to_again_error}",
            expected="the same output for the same input",
            found="a render failure",
        )
        return
    again = {resource_key(m, view.namespace): m for m in view.to_again.manifests if m.kind == "Secret"}
    random: set[tuple[ResourceKey, str]] = set()
    for key, secret in view.to_side.index.items():
        twin = again.get(key)
        if secret.kind != "Secret" or twin is None:
            continue
        first, second = _secret_values(secret), _secret_values(twin)
        for path in sorted(set(first) | set(second)):
            if first.get(path, ABSENT) != second.get(path, ABSENT):
                random.add((key, path))
                guarded = _uses_lookup(view.to_side.chart, secret)
                yield r.fail(
                    ctx,
                    f"{secret.ref} {path} differs between two renders of the same values: it is "
                    "generated at render time (randAlphaNum?), so every upgrade replaces it"
                    + (
                        "; the chart calls lookup(), which keeps the live value only when helm talks to the "
                        "cluster (not in helm template, Argo CD or --dry-run=client)"
                        if guarded
                        else ""
                    ),
                    expected=show_secret(first.get(path, ABSENT), "render 1"),
                    found=show_secret(second.get(path, ABSENT), "render 2"),
                    resource=secret.ref,
                    field_path=path,
                    manifest=secret,
                    severity=Severity.WARNING if guarded else None,
                )
    if _credential_inputs(view.from_side.values_file.data) != _credential_inputs(
        view.to_side.values_file.data
    ):
        return  # the user changed a password: a changed secret is what they asked for
    for key, old, new in view.surviving():
        if new.kind != "Secret":
            continue
        before_values, after_values = _secret_values(old), _secret_values(new)
        for path in sorted(set(before_values) & set(after_values)):
            if (key, path) in random:
                continue
            before = _credential(path, before_values[path])
            after = _credential(path, after_values[path])
            if before is not None and after is not None and before != after:
                yield r.fail(
                    ctx,
                    f"{new.ref} {path} changes between the from- and to-side although the values change "
                    "no password: the running MongoDB keeps the old one",
                    expected=show_secret(before, "before"),
                    found=show_secret(after, "after"),
                    resource=new.ref,
                    field_path=path,
                    manifest=new,
                )


# -- the monolith survives -----------------------------------------------------------------------------


@rule(
    "upgrade.monolith-survives",
    title="the monolith Deployment survives the upgrade (same name and selector), e.g. monolith -> microservices",
    contract=f'{_UPGRADES}: "Convert your monolith deployment" = helm upgrade with microservices.enabled: true: '
    "the monolith Deployment must survive (same selector), new Deployments are added",
    fix="keep the monolith Deployment's name (<release>-<chart name>) and selector labels in both modes",
    basis="doc",
    lane="upgrade",
)
def rule_upgrade_monolith_survives(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
    converting = view.from_side.expectations.microservices != view.to_side.expectations.microservices
    label = (
        "monolith -> microservices"
        if view.to_side.expectations.microservices
        else "microservices -> monolith"
    )
    how = f" ({label})" if converting else ""
    after = view.to_side.topology.components(MONOLITH)
    for workload in view.from_side.topology.components(MONOLITH):
        key = resource_key(workload.manifest, view.namespace)
        survivor = view.to_side.index.get(key)
        if survivor is None:
            other = next((w for w in after if resource_key(w.manifest, view.namespace) != key), None)
            found = other.ref if other else "(deleted)"
            yield r.fail(
                ctx,
                f"the monolith {workload.ref} does not survive the upgrade{how}: it becomes {found}, so "
                "helm deletes it and every monolith pod restarts from nothing (downtime)",
                expected=workload.ref,
                found=found,
                resource=workload.ref,
                field_path="metadata.name",
                manifest=other.manifest if other else workload.manifest,
            )
            continue
        before, now = (workload.manifest.body.get("spec") or {}), (survivor.body.get("spec") or {})
        for path, was, becomes in diff_values(
            before.get("selector", ABSENT), now.get("selector", ABSENT), "spec.selector"
        ):
            yield r.fail(
                ctx,
                f"the monolith {workload.ref} changes its selector{how}: {path} {show_value(was)} -> "
                f"{show_value(becomes)} (the API server rejects it; recreating it means downtime)",
                expected=show_value(was),
                found=show_value(becomes),
                resource=workload.ref,
                field_path=path,
                manifest=survivor,
            )


# -- the target passes the static lane -----------------------------------------------------------------


@rule(
    "upgrade.target-passes-static",
    title="after the upgrade, the to-side passes every static rule",
    contract=f"{_UPGRADES}: the upgraded release must still meet the whole contract (the static lane on the to-side)",
    fix="fix what the listed static rule reports for the to-side values and chart",
    basis="doc",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_target_passes_static(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
    target = view.target
    if target.input_error is not None:
        yield r.fail(
            ctx,
            f"the to-side cannot be checked: {target.input_error}",
            expected="readable values",
            found=target.input_error,
        )
        return
    temp, shown = view.pair.to_side.values_path, view.pair.to_side.values_label
    for rule_id, findings in target.findings.items():
        for finding in findings:
            if not blocks_run(finding, strict=ctx.options.strict):
                continue
            location = finding.location
            if location is not None and location.file == temp:
                location = replace(location, file=shown)
            yield replace(
                finding,
                rule_id=r.id,
                message=f"after the upgrade, static rule {rule_id} fails: {finding.message}",
                location=location,
                evidence=finding.evidence + (("static rule", rule_id),),
            )


# -- stream-hub handover -------------------------------------------------------------------------------


@rule(
    "upgrade.stream-hub-handover",
    title="stream-hub never runs twice during the upgrade (rollout strategy, no rename), and its removal is explicit",
    contract=f"{_UPGRADES}: stream-hub must never run two pods at once, not even during a rollout",
    fix="roll stream-hub out with Recreate (or maxSurge 0) and keep its Deployment name across versions",
    basis="chart behaviour",
    lane="upgrade",
)
def rule_upgrade_stream_hub_handover(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
    before = view.from_side.topology.components(STREAM_HUB)
    after = view.to_side.topology.components(STREAM_HUB)
    if before and not after:
        yield passed(
            r.id,
            f"stream-hub is removed by this upgrade ({view.to_side.expectations.stream_hub.reason}): "
            f"{', '.join(w.ref for w in before)} is deleted, nothing hands over",
            Severity.INFO,
        )
        return
    for finding in evaluate_rule(ctx, RULES["streamhub.rollout-never-two"]):
        if finding.failed:
            yield replace(finding, rule_id=r.id, message=f"during the upgrade, {finding.message}")
    old_keys = {resource_key(w.manifest, view.namespace) for w in before}
    if before and after and not any(resource_key(w.manifest, view.namespace) in old_keys for w in after):
        yield r.fail(
            ctx,
            f"stream-hub moves from {before[0].ref} to {after[0].ref}: helm creates the new one before it "
            "deletes the old, so two hubs run during the upgrade",
            expected=before[0].ref,
            found=after[0].ref,
            resource=after[0].ref,
            field_path="metadata.name",
            workload=after[0],
        )


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
def rule_upgrade_renamed_values_keys(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
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
                f"{ignored.key_path} (set to {value}) is read by {old_chart.label} but {what} in "
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
                f"{ignored.key_path} (set to {value}) is read by {old_chart.label} but {what} in "
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
def rule_upgrade_reuse_values(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
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
def rule_upgrade_pod_identity_with_volume(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
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
def rule_upgrade_mode_changed_by_default(ctx: Context, r: Rule) -> Iterable[Finding]:
    view = _view(ctx)
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
