"""Release-wide settings reach every workload: a setting the user gave once for the whole release
(``global.tolerations``, ``global.nodeSelector``, ``global.affinity``, ``global.imagePullSecrets``,
``global.imageRegistry``) and the settings the clients of one backend share (``MONGO_OPTIONS``, a CA file for
MongoDB) must reach every workload of the release, subcharts included.

Judged on the render, not on a model of the chart: whatever helper, subchart global or YAML anchor the
chart uses, a pod spec either carries the setting or it does not. For each workload left out the finding
says whether a values key of that version can reach it (a key its values.yaml or templates have, e.g.
``nats.tolerations``, ``mongodb.tolerations``, ``nats.natsbox.nodeSelector``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..chart_reads import WHOLE, ReadTree, own_global_reads, template_reads
from ..findings import Finding, Severity
from ..render import Manifest
from ..topology import MONOLITH
from ..values import lookup
from .context import RenderedContext
from .engine import Rule, rule

_CONTRACT = (
    "CONTRACT.md > Helm's semantics that a check must reproduce: `global` values reach every subchart, but a "
    "subchart only uses the globals it was written to read"
)
_POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


@dataclass(frozen=True)
class Setting:
    key: str  # the user's values key for the whole release
    field: str  # the pod spec field it must reach
    leaves: tuple[str, ...]  # values key names that set it for one workload


SETTINGS = (
    Setting("global.tolerations", "tolerations", ("tolerations",)),
    Setting("global.nodeSelector", "nodeSelector", ("nodeSelector",)),
    Setting("global.affinity", "affinity", ("affinity",)),
    Setting("global.imagePullSecrets", "imagePullSecrets", ("imagePullSecrets", "pullSecrets")),
    Setting("global.imageRegistry", "image", ("registry", "image", "repository")),
)


def pod_spec(manifest: Manifest) -> dict[str, Any]:
    spec = manifest.body.get("spec") or {}
    if manifest.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = (spec.get("template") or {}).get("spec") if isinstance(spec, dict) else None
    return template if isinstance(template, dict) else {}


def _contains(have: Any, want: Any) -> bool:
    """``want`` is part of ``have``: map entries present (recursively), list items each found."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _contains(have[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and all(any(_contains(h, w) for h in have) for w in want)
    return str(have) == str(want)


def _secret_names(items: Any) -> set[str]:
    names = set()
    for item in items if isinstance(items, list) else []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name:
            names.add(name)
    return names


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for key in ("initContainers", "containers") for c in spec.get(key) or [] if isinstance(c, dict)]


def _misses(setting: Setting, wanted: Any, spec: dict[str, Any]) -> str:
    """What the pod spec lacks of the setting ('' when it carries it)."""
    if setting.field == "imagePullSecrets":
        missing = _secret_names(wanted) - _secret_names(spec.get("imagePullSecrets"))
        return f"imagePullSecrets lacks {', '.join(sorted(missing))}" if missing else ""
    if setting.field == "image":
        registry = str(wanted).rstrip("/") + "/"
        off = [
            f"{c.get('name')} ({c.get('image')})"
            for c in _containers(spec)
            if not str(c.get("image", "")).startswith(registry)
        ]
        return f"images not from {registry.rstrip('/')}: {', '.join(off)}" if off else ""
    if not _contains(spec.get(setting.field), wanted):
        return f"{setting.field} {'lacks the release-wide entries' if spec.get(setting.field) else 'unset'}"
    return ""


def _key_paths(tree: Any, leaves: tuple[str, ...], prefix: str = "", depth: int = 0) -> list[str]:
    """Key paths of ``tree`` (defaults or a ReadTree) whose last name is one of ``leaves``."""
    found: list[str] = []
    if not isinstance(tree, dict) or depth > 6:
        return found
    for key, below in tree.items():
        if key in ("*", WHOLE, "global"):
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        if key in leaves:
            found.append(path)
        found += _key_paths(below, leaves, path, depth + 1)
    return found


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def reaching_keys(
    manifest: Manifest,
    setting: Setting,
    defaults: dict[str, Any],
    reads: ReadTree,
    subchart: str,
    *,
    main: bool | set[str] = True,
) -> list[str]:
    """Values keys that set ``setting`` for this workload: keys named like the setting, under the subchart's key
    (or outside every subchart for the chart's own workloads), whose other segments name the workload (or its
    containers, for images); a key directly under the subchart fits its main workload."""
    candidates = sorted(set(_key_paths(defaults, setting.leaves)) | set(_key_paths(reads, setting.leaves)))
    names = _squash(manifest.name)
    if setting.field == "image":
        names += " " + " ".join(_squash(str(c.get("name", ""))) for c in _containers(pod_spec(manifest)))
    fitting, direct = [], []
    for path in candidates:
        parts = path.split(".")
        if subchart:
            if parts[0] != subchart:
                continue
            parts = parts[1:]
        middle = [p for p in parts[:-1] if p not in ("image", "podTemplate", "spec")]
        if not middle:
            direct.append(path)
        elif all(_squash(p) in names for p in middle if _squash(p) not in ("", _squash(subchart))):
            fitting.append(path)
    if not subchart:
        # a top-level key (tolerations, extraEnv) is the main workload's (the monolith): never a microservice's
        if isinstance(main, set):
            direct = [p for p in direct if p in main]
        else:
            direct = direct[:1] if main and not fitting else []
    return fitting or direct


def _subchart_key(manifest: Manifest, deps: dict[str, str]) -> str:
    parts = manifest.source.split("/")
    return deps.get(parts[2], parts[2]) if len(parts) > 3 and parts[1] == "charts" else ""


def _is_main(ctx: RenderedContext, manifest: Manifest) -> bool | set[str]:
    """Whether a top-level key (``tolerations``, ``extraEnv``) can reach this workload of the chart itself: the
    monolith's settings sit at the top of values.yaml; any other workload only when its own template reads the
    key (the hook Job's ``$.Values.tolerations``), so the top-level keys its template reads are returned."""
    if any(w.manifest is manifest for w in ctx.topology.components(MONOLITH)):
        return True
    rel = manifest.source.split("/", 1)[1] if "/" in manifest.source else manifest.source
    return set(template_reads(ctx.chart.path, rel))


def _hook(manifest: Manifest) -> str:
    return str(((manifest.body.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", ""))


def _user_sets(values: dict[str, Any], key: str) -> Any:
    value = lookup(values, key)
    return value if value not in (None, "", [], {}) else None


@rule(
    "release.settings-reach-every-workload",
    title="a setting given once for the whole release reaches every workload, subcharts included",
    contract=f"{_CONTRACT}; ISSUE 21: image registry, pull secrets, tolerations, node selectors and affinity "
    "set for the release reach every workload",
    fix="set the key named for each workload left out (subcharts read their own keys, e.g. nats.tolerations, "
    "nats.natsbox.tolerations, mongodb.tolerations), or drop the release-wide setting if it is not meant for them",
    basis="chart behaviour",
)
def rule_settings_reach_every_workload(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    user = ctx.values_file.data
    if ctx.rendered is None:
        return
    deps = {d.name: d.key for d in ctx.chart.dependencies}
    pods = [m for m in ctx.rendered.manifests if m.kind in _POD_KINDS and pod_spec(m)]
    for setting in SETTINGS:
        wanted = _user_sets(user, setting.key)
        if wanted is None:
            continue
        own_reads_global = setting.key.split(".", 1)[1] in own_global_reads(ctx.chart.path)
        left: dict[str, list[tuple[Manifest, str, list[str]]]] = {}
        for manifest in pods:
            lack = _misses(setting, wanted, pod_spec(manifest))
            if not lack:
                continue
            sub = _subchart_key(manifest, deps)
            keys = reaching_keys(
                manifest, setting, ctx.chart.defaults, ctx.chart.reads, sub, main=_is_main(ctx, manifest)
            )
            left.setdefault(sub, []).append((manifest, lack, keys))
        for sub, items in left.items():
            refs = ", ".join(m.ref for m, _, _ in items)
            keys = sorted({k for _, _, ks in items for k in ks})
            unreachable = [m.ref for m, _, ks in items if not ks]
            reach = (
                f"values keys that reach them: {', '.join(keys)}"
                if keys
                else "no values key of this chart reaches them"
            )
            if unreachable and keys:
                reach += f" (none for {', '.join(unreachable)})"
            whose = f"subchart {sub}" if sub else ctx.chart.label
            hooks = [m.ref for m, _, _ in items if _hook(m)]
            if hooks:
                whose += (
                    f"; {', '.join(hooks)} is a helm hook: helm waits for it, so a pod that cannot schedule "
                    "stalls the release"
                )
            if sub:
                why = f"the {sub} subchart does not read {setting.key}"
                severity = Severity.ERROR if unreachable else Severity.WARNING
            elif own_reads_global:
                why = f"{ctx.chart.label} reads {setting.key} but its templates do not apply it to these workloads"
                severity = Severity.ERROR
            else:
                why = f"{ctx.chart.label}'s templates never read {setting.key}"
                severity = Severity.WARNING
            yield r.fail(
                ctx,
                f"{setting.key} is set for the release but {refs} ({whose}) do not get it: {why}; "
                f"{items[0][1]}; {reach}",
                expected=f"every workload's {setting.field} carries {setting.key}",
                found=f"{len(items)} workload(s) of {whose} without it",
                resource=items[0][0].ref,
                field_path=f"spec.template.spec.{setting.field}",
                key_path=setting.key if ctx.values_file.position(setting.key) else "",
                severity=severity,
            )


_ENV_KEYS = Setting("", "env", ("extraEnv", "extraEnvVars", "env"))
_SHARED_ENV = re.compile(r"^(MONGO_(?!URL$|OPLOG_URL$)\w+|NODE_EXTRA_CA_CERTS)$")


@rule(
    "release.backend-settings-shared",
    title="every client of the release's MongoDB gets the same connection settings (MONGO_OPTIONS, CA files)",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Connections: every component that connects to MongoDB presents what the server "
    "accepts; ISSUE 21: settings the components share for one backend (CA files, MongoDB options) reach every "
    "workload",
    fix="give the same env (and the volume holding the CA file) to every MongoDB client: extraEnv for the "
    "monolith and each microservice's own extraEnv/volume keys",
    basis="chart behaviour",
)
def rule_backend_settings_shared(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    clients: list[tuple[Manifest, dict[str, str], set[str]]] = []
    if ctx.rendered is None:
        return
    for manifest in ctx.rendered.manifests:
        if manifest.kind not in _POD_KINDS:
            continue
        for container in pod_spec(manifest).get("containers") or []:
            env = {e.get("name"): e for e in container.get("env") or [] if isinstance(e, dict)}
            if "MONGO_URL" not in env:
                continue
            shared = {n for n in env if isinstance(n, str) and _SHARED_ENV.match(n)}
            mounts = {
                str(m.get("mountPath")) for m in container.get("volumeMounts") or [] if isinstance(m, dict)
            }
            clients.append((manifest, {n: _shown(env[n]) for n in shared}, mounts))
    if len(clients) < 2:
        return
    names = sorted({n for _, env, _ in clients for n in env})
    for name in names:
        having = [(m, env[name]) for m, env, _ in clients if name in env]
        lacking = [m.ref for m, env, _ in clients if name not in env]
        if not lacking:
            continue
        paths = {p for _, v in having for p in re.findall(r"(/[\w./-]+\.(?:pem|crt|cert|ca))", v)}
        missing_mount = [
            m.ref
            for m, env, mounts in clients
            if name in env and paths and not any(p.startswith(tuple(mounts)) for p in paths)
        ]
        deps = {d.name: d.key for d in ctx.chart.dependencies}
        reach = sorted(
            {
                k
                for m, env, _ in clients
                if name not in env
                for k in reaching_keys(
                    m,
                    _ENV_KEYS,
                    ctx.chart.defaults,
                    ctx.chart.reads,
                    _subchart_key(m, deps),
                    main=_is_main(ctx, m),
                )
            }
        )
        extra = (
            f"; the file {', '.join(sorted(paths))} is not mounted in {', '.join(missing_mount)}"
            if missing_mount
            else ""
        )
        yield r.fail(
            ctx,
            f"{name} is set on {', '.join(m.ref for m, _ in having)} but not on {', '.join(lacking)}, which "
            f"connect to the same MongoDB (MONGO_URL){extra}; "
            + (
                f"values keys that reach them: {', '.join(reach)}"
                if reach
                else "no values key of this chart reaches them"
            ),
            expected=f"{name} on every MongoDB client",
            found=f"missing on {len(lacking)} workload(s)",
            resource=lacking[0],
            field_path=f"env[name={name}]",
        )


def _shown(var: dict[str, Any]) -> str:
    value = var.get("value")
    return str(value) if isinstance(value, str) else ""
