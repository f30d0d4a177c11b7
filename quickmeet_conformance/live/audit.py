"""Read-only audit of a deployed release: its values, manifest and chart as helm stored them, the static rules
on those, the live topology rules on the namespace, and drift between the live objects and the manifest.

Only reads: ``helm status``/``get values``/``get manifest`` (pyhelm3) and GET/watch through the Kubernetes
client. The chart's defaults come from helm's own release record (Secret
``sh.helm.release.v1.<release>.v<revision>``: base64 of gzipped JSON), so the static rules judge the user's
values against the chart that was really installed.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

from ..charts import Chart
from ..errors import ToolError
from ..expectations import expectations_for
from ..findings import Finding
from ..helm import HelmBinary
from ..redact import Redactor, redactor_for
from ..render import Rendered, RenderRequest, parse_manifests
from ..rules.context import StaticContext
from ..rules.engine import evaluate_rule, redact_finding, rules_for_lane
from ..topology import build_topology
from ..values import ValuesFile, deep_merge, parse_values
from .case import LiveCaseResult
from .evaluation import redacted
from .probing import ProbeTargets
from .scenario import LiveLane
from .state import LiveView

HELM_STORAGE_LABELS = "owner=helm,name={release}"


def stored_release(lane: LiveLane, release: str, namespace: str, revision: int | None) -> dict[str, Any]:
    """helm's record of the release (chart metadata and default values), or {} when it cannot be read."""
    selector = HELM_STORAGE_LABELS.format(release=release)
    try:
        records = lane.kube.list_objects("Secret", namespace, label_selector=selector)
    except ToolError:
        return {}
    if revision is not None:
        records = [
            s for s in records if str((s["metadata"].get("labels") or {}).get("version")) == str(revision)
        ]
    records.sort(key=lambda s: int((s["metadata"].get("labels") or {}).get("version", 0)))
    if not records:
        return {}
    try:
        raw = base64.b64decode(base64.b64decode(records[-1]["data"]["release"]))
        return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (KeyError, ValueError, OSError):
        return {}


def release_chart(record: dict[str, Any], release: str, namespace: str, computed: dict[str, Any]) -> Chart:
    chart = record.get("chart") or {}
    meta = chart.get("metadata") or {}
    defaults = chart.get("values") if isinstance(chart.get("values"), dict) else None
    return Chart(
        spec=f"release {namespace}/{release}",
        path=Path("."),
        name=str(meta.get("name", "unknown")),
        version=str(meta.get("version", "unknown")),
        app_version=str(meta.get("appVersion", "")),
        defaults=defaults if defaults is not None else computed,
    )


def audit_release(
    lane: LiveLane, helm: HelmBinary, release: str, namespace: str, ingress_url: str | None = None
) -> LiveCaseResult:
    """Audit ``release`` in ``namespace`` without changing anything: static rules on what helm stored, the live
    rules on the namespace, and, given ``ingress_url`` (the cluster's ingress entry: the release runs and is
    reachable), the probes: the NATS bus through a port-forward to its NATS Service, DDP through the ingress."""
    client = lane.client(helm, namespace)
    case_id = f"{namespace}/{release}"
    log = lane.case_log(case_id, Redactor())  # the release's values are not read yet: nothing to mask
    status = client.status()  # ToolError (one line) when the release does not exist
    revision = status.get("version")
    log.say(f"auditing release {release} revision {revision} ({(status.get('info') or {}).get('status')})")
    user_values = client.user_values()
    manifest_text = client.manifest_text()
    record = stored_release(lane, release, namespace, revision)
    computed = deep_merge((record.get("chart") or {}).get("values") or {}, user_values)
    chart = release_chart(record, release, namespace, computed)
    values_file = parse_values(json.dumps(user_values), f"values of release {case_id}")
    manifests = parse_manifests(manifest_text, f"release {case_id}")
    topology = build_topology(manifests, lane.matcher)
    state = lane.snapshot(namespace)
    redactor = log.redactor = redactor_for(user_values, public_values=chart.defaults)
    lane.add_cluster_secrets(redactor, state)
    for manifest in manifests:
        if manifest.kind == "Secret":
            redactor.add_from_secret_manifest(manifest.body)
    log.say(
        f"read {len(manifests)} objects from the release and "
        f"{sum(len(v) for v in state.items.values())} from the namespace"
    )
    static = static_findings(
        lane, chart, values_file, manifests, manifest_text, helm, release, namespace, redactor
    )
    view = LiveView(release, namespace, state, topology, None, audit=True)
    findings = lane.evaluate(view, values_file, chart, redactor)
    probes = None
    if ingress_url:  # the user says the release runs and where it is reached: probe it
        probes = lane.probe(state, log, ("bus", "ws"), ProbeTargets.from_url(ingress_url))
        findings.update(redacted(probes.findings, redactor) if probes is not None else {})
    else:
        log.say(
            "probes not run: pass --ingress-url (the cluster's ingress entry) to probe the NATS bus through a "
            "port-forward and /websocket through the ingress"
        )
    label = f"release {case_id} revision {revision} ({chart.label})"
    result = LiveCaseResult(
        case_id,
        label,
        release,
        namespace,
        view,
        findings,
        redactor,
        log.lines,
        static_findings=static,
        audit=True,
        log_times=log.times,
        waits=list(log.waits),
        probe_targets=dict(probes.targets) if probes is not None else {},
    )
    if not record:
        result.log.append(
            "note: helm's release record was not readable; the chart defaults are the computed "
            "values, so values.ignored-keys cannot see typos"
        )
    return lane.finish(result)


def static_findings(
    lane: LiveLane,
    chart: Chart,
    values_file: ValuesFile,
    manifests: tuple,
    text: str,
    helm: HelmBinary,
    release: str,
    namespace: str,
    redactor: Redactor,
) -> dict[str, list[Finding]]:
    """The static rules on the release's values and manifest (the manifest stands in for a render)."""
    merged = deep_merge(chart.defaults, values_file.data)
    request = RenderRequest(
        chart=chart,
        values=values_file.data,
        release=release,
        namespace=namespace,
        kube_version=lane.options.kube_version,
        values_label=values_file.path,
    )
    ctx = StaticContext(
        values_file=values_file,
        merged=merged,
        chart=chart,
        expectations=expectations_for(merged, chart.app_version, chart.reads),
        options=lane.options,
        matcher=lane.matcher,
        rendered=Rendered(request, helm, manifests, text),
        topology=build_topology(manifests, lane.matcher),
    )
    return {
        r.id: [redact_finding(f, redactor.text) for f in evaluate_rule(ctx, r)]
        for r in rules_for_lane("static")
    }
