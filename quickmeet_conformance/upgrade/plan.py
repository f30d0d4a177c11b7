"""The upgrade plan: what ``helm upgrade`` does to each resource, keyed by (API group, kind, namespace,
name), from the two renders alone: created, deleted, changed (with field paths) or unchanged."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..render import Manifest
from ..values import join_key_path

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


_IDENTITY_FIELDS = (
    "name",
    "metadata.name",
    "path",
)  # containers/env/ports, volumeClaimTemplates, Ingress paths


def _identity(item: Any, identity: str) -> str | None:
    node = item
    for part in identity.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


def _named_items(items: list[Any]) -> tuple[str, dict[str, Any]] | None:
    """Lists of uniquely named maps compare item by item by name (or path), not by index."""
    for identity in _IDENTITY_FIELDS:
        found = [_identity(i, identity) for i in items]
        names = [n for n in found if n is not None]
        if items and len(names) == len(items) and len(set(names)) == len(names):
            return identity.rsplit(".", 1)[-1], dict(zip(names, items, strict=True))
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
                found += diff_values(
                    before.get(name, ABSENT), after.get(name, ABSENT), f"{path}[{label}={name}]"
                )
            return found
        found = []
        for i in range(max(len(old), len(new))):
            found += diff_values(
                old[i] if i < len(old) else ABSENT, new[i] if i < len(new) else ABSENT, f"{path}[{i}]"
            )
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
