"""Upgrade rules on what must persist: MongoDB's StatefulSet, claims and secrets, generated passwords, the
monolith Deployment."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ...charts import Chart
from ...findings import Finding, Severity
from ...redact import CREDENTIAL_VALUES_PATH, PASSWORD_DATA_KEY, URI_CREDENTIALS, URI_KEY
from ...render import Manifest
from ...rules.engine import Rule, rule
from ...topology import MONGODB, MONOLITH, Topology, Workload
from ...upgrade.case import UpgradeView
from ...upgrade.plan import (
    ABSENT,
    ResourceKey,
    diff_values,
    resource_key,
    secret_text,
    show_secret,
    show_value,
)
from ...values import join_key_path, lookup
from .context import RenderedUpgrade

_UPGRADES = "CONTRACT.md > Upgrades"

# -- data survives -------------------------------------------------------------------------------------

_MONGO_PASSWORD_KEY = re.compile(r"(?i)mongo.*pass|pass.*mongo")


def _data_secrets(view: UpgradeView, from_topology: Topology) -> dict[ResourceKey, Manifest]:
    """From-side Secrets holding mongo-uri or MongoDB passwords (named by the MongoDB pods' env, or by key)."""
    side = view.from_side
    referenced = {
        var.secret_name
        for w in from_topology.components(MONGODB)
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
def rule_upgrade_data_survives(ctx: RenderedUpgrade, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    moved = _user_moved_data(view)
    severity = Severity.WARNING if moved else None
    because = f" (the values change {moved}: migrate the data first)" if moved else ""
    after_mongo = ctx.to_topology.components(MONGODB)
    for workload in ctx.from_topology.components(MONGODB):
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
    for key, secret in _data_secrets(view, ctx.from_topology).items():
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
def rule_upgrade_stable_secrets(ctx: RenderedUpgrade, r: Rule) -> Iterable[Finding]:
    view = ctx.view
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
def rule_upgrade_monolith_survives(ctx: RenderedUpgrade, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    converting = view.from_side.expectations.microservices != view.to_side.expectations.microservices
    label = (
        "monolith -> microservices"
        if view.to_side.expectations.microservices
        else "microservices -> monolith"
    )
    how = f" ({label})" if converting else ""
    after = ctx.to_topology.components(MONOLITH)
    for workload in ctx.from_topology.components(MONOLITH):
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
