"""The live lane's scenarios: install a case (or upgrade a pair) in a namespace of its own, observe, evaluate.

A values case:  install -> watch the rollout -> snapshot (topology and drift rules) -> ``helm upgrade``
with the same values (no pod may restart) -> when stream-hub runs, ``helm upgrade`` to the chart with a
bumped version (every pod template changes) while a pod watch counts the stream-hub pods that exist at once.

An upgrade pair: install the from-side -> snapshot -> ``helm upgrade`` to the to-side under a pod watch
-> did the API server accept it, and did the render-time lane predict that -> snapshot.

Every step is bounded, prints a progress line, and is redacted before it reaches a report.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..charts import Chart
from ..clusters.kubeclient import KubeClient
from ..errors import ToolError, UserError
from ..expectations import expectations_for
from ..findings import Finding, Verdict, verdict_of
from ..helm import HelmBinary
from ..redact import Redactor, redactor_for
from ..render import Renderer, RenderRequest, parse_manifests
from ..rules.engine import Options, evaluate_rule, redact_finding, rules_for_lane
from ..rules.live.context import LiveContext
from ..topology import STREAM_HUB, ComponentMatcher, Topology, build_topology
from ..upgrade import UpgradeCase, evaluate_upgrade, load_side_values
from ..values import ValuesFile, deep_merge
from . import diagnostics
from .cluster import LiveCluster
from .probing import ProbeRun, probe_release
from .rollout import DEFAULT_ROLLOUT_TIMEOUT_S, RolloutResult, wait_for_rollout
from .state import SNAPSHOT_KINDS, LiveState, LiveView, PodChange, PodTimeline, UpgradeOutcome

if (
    TYPE_CHECKING
):  # .release imports pyhelm3 (pydantic models): loaded when a live case runs, not by every session
    from .release import HelmOutcome, ReleaseClient

IMMUTABLE_RULE = "upgrade.immutable-fields"
WATCH_SYNC_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Tamper:
    """A hand edit after an install (what ``kubectl scale``/``set image`` would send): a strategic merge patch."""

    kind: str
    name: str
    patch: dict[str, Any]


@dataclass
class CaseLog:
    """A live case's progress lines, redacted before they are shown or kept: helm's errors quote values, and
    a line on the terminal cannot be taken back."""

    case_id: str
    redactor: Redactor
    write: Callable[[str], None] = lambda line: None
    lines: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # seconds since the case started, one per line
    start: float = field(default_factory=time.monotonic)

    def say(self, line: str) -> None:
        text = self.redactor.text(f"[live {self.case_id}] {line}")
        self.lines.append(text)
        self.times.append(time.monotonic() - self.start)
        self.write(text)


@dataclass
class LiveCaseResult:
    """One live case: what ran where, the view the rules saw, their findings, and the case's log."""

    id: str
    label: str
    release: str
    namespace: str
    view: LiveView
    findings: dict[str, list[Finding]]
    redactor: Redactor = field(default_factory=Redactor)
    log: list[str] = field(default_factory=list)
    diagnostics: str = ""  # events, pods, describe (redacted), captured while the namespace existed
    static_findings: dict[str, list[Finding]] = field(
        default_factory=dict
    )  # audit: static rules on the release
    audit: bool = False
    log_times: list[float] = field(default_factory=list)  # seconds since the case started, per log line
    probe_targets: dict[str, str] = field(
        default_factory=dict
    )  # "bus"/"ws" -> what the probes reached (kind)

    def verdict(self, rule_id: str) -> Verdict:
        return verdict_of(self.findings.get(rule_id, []))

    def static_verdict(self, rule_id: str) -> Verdict:
        return verdict_of(self.static_findings.get(rule_id, []))

    def failed(self) -> bool:
        return any(f.failed for fs in self.findings.values() for f in fs)


def rollout_variant(chart_dir: Path, dest: Path) -> Path:
    """A copy of the chart with ``-qmc.rollout`` appended to its version: the helm.sh/chart label on every pod
    template changes, so ``helm upgrade`` to it rolls every Deployment (the values stay the same)."""
    shutil.copytree(chart_dir, dest)
    meta = dest / "Chart.yaml"
    text = meta.read_text(encoding="utf-8")
    bumped, count = re.subn(
        r"^version:\s*['\"]?([^'\"\s]+)['\"]?\s*$",
        lambda m: f"version: {m.group(1)}-qmc.rollout",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    if not count:
        raise UserError("Chart.yaml has no version line", where=str(meta))
    meta.write_text(bumped, encoding="utf-8")
    return dest


STOPPED_PHASES = ("Succeeded", "Failed")  # every container has terminated and none will restart


class PodCounter:
    """Counts, from a pod watch, how many pods of one component run at once: terminating ones included until
    their containers have stopped (phase Succeeded or Failed) or the pod is deleted. A Recreate rollout
    starts the new pod once the old one has stopped, while the old object may linger for a moment."""

    def __init__(self, component: str, matcher: ComponentMatcher) -> None:
        self.component = component
        self.matcher = matcher
        self.start = time.monotonic()
        self.existing: dict[str, str] = {}  # pod name -> component
        self.initial: set[str] = set()
        self.added: set[str] = set()
        self.synced = False
        self.peak = 0
        self.peak_pods: tuple[str, ...] = ()
        self.timeline: list[str] = []
        self.points: list[tuple[float, int, str, str]] = []
        self._lock = threading.Lock()

    def mark_synced(self) -> None:
        with self._lock:
            self.synced = True
            self.initial = {n for n, c in self.existing.items() if c == self.component}
            # the chart starts here: what the initial listing added is the count at this point
            self.points = [(time.monotonic() - self.start, self.count(), "WATCHING", "")]

    def on_event(self, kind: str, pod: dict[str, Any]) -> None:
        name = str((pod.get("metadata") or {}).get("name", ""))
        with self._lock:
            before = self.count()
            if kind != "DELETED" and (pod.get("status") or {}).get("phase") in STOPPED_PHASES:
                kind = "STOPPED"
            if kind in ("DELETED", "STOPPED"):
                component = self.existing.pop(name, None)
            else:
                component = self.matcher.component_of_pod(pod)
                if name not in self.existing and self.synced and component == self.component:
                    self.added.add(name)
                self.existing[name] = component or ""
            if component != self.component:
                return
            now = self.count()
            terminating = " terminating" if (pod.get("metadata") or {}).get("deletionTimestamp") else ""
            if kind != "MODIFIED" or now != before:
                elapsed = time.monotonic() - self.start
                self.timeline.append(f"+{elapsed:6.2f}s {kind:<8} {name}{terminating} ({now} exist)")
                marked = " (terminating)" if terminating and kind not in ("DELETED", "STOPPED") else ""
                self.points.append((elapsed, now, kind + marked, name))
            if now > self.peak:
                self.peak = now
                self.peak_pods = tuple(sorted(n for n, c in self.existing.items() if c == self.component))

    def count(self) -> int:
        return sum(1 for c in self.existing.values() if c == self.component)

    def result(self, description: str) -> PodTimeline:
        with self._lock:
            return PodTimeline(
                self.component,
                self.peak,
                self.peak_pods,
                tuple(self.timeline),
                bool(self.added),
                description,
                tuple(self.points),
            )


class LiveLane:
    """Runs live scenarios on one cluster. Plain Python: the pytest plugin only wires it."""

    def __init__(
        self,
        cluster: LiveCluster,
        *,
        release: str,
        options: Options,
        matcher: ComponentMatcher,
        workdir: Path,
        write: Callable[[str], None] = lambda line: None,
        rollout_timeout_s: float = DEFAULT_ROLLOUT_TIMEOUT_S,
        install_timeout_s: float = 180.0,
        prerequisites_dir: Path | None = None,
    ) -> None:
        self.cluster = cluster
        self.release = release
        self.options = options
        self.matcher = matcher
        self.workdir = workdir
        self.write = write
        self.rollout_timeout_s = rollout_timeout_s
        self.install_timeout_s = install_timeout_s
        self.prerequisites_dir = prerequisites_dir
        self._variants = 0

    @property
    def kube(self) -> KubeClient:
        return self.cluster.kube

    # -- steps -------------------------------------------------------------------------------------
    def case_log(self, case_id: str, redactor: Redactor) -> CaseLog:
        return CaseLog(case_id, redactor, self.write)

    def client(self, helm: HelmBinary, namespace: str) -> ReleaseClient:
        handle = self.cluster.handle
        from .release import ReleaseClient

        return ReleaseClient(helm, Path(handle.kubeconfig), handle.context, self.release, namespace)

    def _prerequisites(self, namespace: str, stems: tuple[str, ...], log: CaseLog) -> None:
        """Objects a values file expects outside the chart (e.g. the Secret named by existingMongodbSecret)."""
        if self.prerequisites_dir is None:
            return
        for stem in stems:
            path = self.prerequisites_dir / f"{stem}.yaml"
            if path.is_file():
                for body in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                    if body:
                        self.kube.create(body, namespace, exist_ok=True)
                log.say(f"created prerequisites {path.name}")

    def snapshot(self, namespace: str) -> LiveState:
        listing = self.kube.list_kinds(SNAPSHOT_KINDS, namespace, timeout=60)
        return LiveState.from_list(namespace, {"items": listing}, self.matcher)

    def _prepare_images(
        self, client: ReleaseClient, chart: Chart, values: dict[str, Any], log: CaseLog
    ) -> None:
        """On a cluster that runs containers from local images (kind, --kind-images local): make every image the
        release will reference present in the cluster before helm installs it (nothing is pulled)."""
        prepare = getattr(self.cluster.provider, "prepare_images", None)
        if prepare is None or not self.cluster.owned:
            return
        try:
            rendered = Renderer(client.helm).render(
                RenderRequest(chart, values, release=self.release, namespace=client.namespace)
            )
        except UserError:
            return  # helm install reports the same refusal
        loaded = prepare(rendered.manifests, self.matcher)
        if loaded:
            log.say(f"images: {len(loaded)} loaded into the cluster ({', '.join(sorted(loaded))})")
        tls = getattr(self.cluster.provider, "tls_secrets", None)
        secrets = tls(client.namespace, rendered.manifests, self.workdir) if tls is not None else []
        for secret in secrets:
            self.kube.create(secret, client.namespace, exist_ok=True)
        if secrets:
            made = ", ".join(str(s["metadata"]["name"]) for s in secrets)
            log.say(f"self-signed TLS Secret(s) {made} created, as cert-manager would")

    def _probe(
        self, state: LiveState, log: CaseLog, families: tuple[str, ...] = ("bus", "ws")
    ) -> ProbeRun | None:
        """The NATS bus and DDP probes against the release, on clusters whose pods really run (kind)."""
        targets = getattr(self.cluster.provider, "probe_targets", None)
        if targets is None or not self.cluster.owned:
            return None
        return probe_release(self.cluster.handle, state, state.topology, targets(), log.say, families)

    def _helm_step(
        self, client: ReleaseClient, chart: Path, values: dict[str, Any], log: CaseLog, what: str
    ) -> HelmOutcome:
        log.say(
            f"{what}: helm upgrade --install {self.release} {chart.name} "
            f"({client.helm.label}) in {client.namespace}"
        )
        outcome = client.install_or_upgrade(chart, values, timeout_s=self.install_timeout_s)
        log.say(
            f"{what}: {'done' if outcome.ok else 'FAILED'} in {outcome.seconds:.1f}s"
            + ("" if outcome.ok else f": {outcome.error}")
        )
        return outcome

    def _rollout(self, namespace: str, log: CaseLog, what: str) -> RolloutResult:
        result = wait_for_rollout(
            self.kube, namespace, timeout_s=self.rollout_timeout_s, write=log.say, what=f"{what} rollout"
        )
        log.say(
            f"{what} rollout: {'complete' if result.ok else 'FAILED'} after "
            f"{result.seconds:.1f}s" + ("" if result.ok else f": {result.reason}")
        )
        return result

    def _release_topology(self, client: ReleaseClient) -> Topology | None:
        try:
            text = client.manifest_text()
            return build_topology(
                parse_manifests(text, f"release {client.namespace}/{client.release}"), self.matcher
            )
        except UserError:
            return None

    def _watched_upgrade(
        self, client: ReleaseClient, chart: Path, values: dict[str, Any], log: CaseLog, what: str
    ) -> tuple[HelmOutcome, RolloutResult | None, PodTimeline]:
        """``helm upgrade`` under a pod watch that counts the stream-hub pods existing at once."""
        return self._under_hub_watch(
            client.namespace, log, what, lambda: self._helm_step(client, chart, values, log, what)
        )

    def _watched_restart(
        self, namespace: str, deployments: list[str], log: CaseLog
    ) -> tuple[HelmOutcome, RolloutResult | None, PodTimeline]:
        """What ``kubectl rollout restart`` does (a new pod-template annotation), under the same pod watch: a
        rollout of the chart's own strategy, for charts whose pod templates a chart version bump leaves alone."""
        what = f"rollout restart of Deployment/{', Deployment/'.join(deployments)}"

        def restart() -> HelmOutcome:
            from .release import HelmOutcome  # loaded with pyhelm3 only when a live case runs (see above)

            start = time.monotonic()
            stamp = {"qmc.conformance/restarted-at": f"{time.time():.3f}"}
            for name in deployments:
                self.kube.patch(
                    "Deployment",
                    name,
                    {"spec": {"template": {"metadata": {"annotations": stamp}}}},
                    namespace,
                )
            log.say(f"{what}: pod templates annotated")
            return HelmOutcome(True, time.monotonic() - start)

        return self._under_hub_watch(namespace, log, what, restart)

    def _under_hub_watch(
        self, namespace: str, log: CaseLog, what: str, step: Callable[[], HelmOutcome]
    ) -> tuple[HelmOutcome, RolloutResult | None, PodTimeline]:
        """``step`` and the rollout it starts under a pod watch that counts the stream-hub pods running at once."""
        counter = PodCounter(STREAM_HUB, self.matcher)
        known = {p["metadata"]["name"] for p in self.kube.list_objects("Pod", namespace)}
        with self.kube.watch("Pod", namespace, counter.on_event) as watch:
            if not watch.wait_seen(known, WATCH_SYNC_TIMEOUT_S):
                raise ToolError(
                    f"the pod watch in {namespace} did not list the existing pods within "
                    f"{WATCH_SYNC_TIMEOUT_S:g}s: {watch.error or 'no reason'}"
                )
            counter.mark_synced()
            outcome = step()
            rollout = self._rollout(namespace, log, what) if outcome.ok else None
        timeline = counter.result(what)
        log.say(f"{what}: at most {timeline.peak} stream-hub pod(s) existed at once")
        return outcome, rollout, timeline

    def evaluate(
        self,
        view: LiveView,
        values_file: ValuesFile,
        chart: Chart,
        redactor: Redactor,
        rule_ids: tuple[str, ...] | None = None,
    ) -> dict[str, list[Finding]]:
        merged = deep_merge(chart.defaults, values_file.data)
        ctx = LiveContext(
            values_file=values_file,
            merged=merged,
            chart=chart,
            expectations=expectations_for(merged, chart.app_version),
            options=self.options,
            matcher=self.matcher,
            live=view,
        )
        rules = [r for r in rules_for_lane("live") if rule_ids is None or r.id in rule_ids]
        return {r.id: [redact_finding(f, redactor.text) for f in evaluate_rule(ctx, r)] for r in rules}

    @staticmethod
    def _redacted(findings: dict[str, list[Finding]], redactor: Redactor) -> dict[str, list[Finding]]:
        return {rule: [redact_finding(f, redactor.text) for f in fs] for rule, fs in findings.items()}

    @staticmethod
    def add_cluster_secrets(redactor: Redactor, state: LiveState | None) -> None:
        """What the cluster's Secrets hold (values the chart generated, too) joins what ``redactor`` masks."""
        for secret in state.of("Secret") if state else []:
            if not str(secret["metadata"]["name"]).startswith("sh.helm.release."):
                redactor.add_from_secret_manifest(secret)

    def finish(self, result: LiveCaseResult) -> LiveCaseResult:
        """Capture diagnostics while the namespace exists, when anything failed; redact what the case keeps
        with everything its redactor learned (Secrets read after a line was said)."""
        if result.view.rollout_error or result.failed():
            try:
                result.diagnostics = diagnostics.collect(self.kube, result.namespace, result.redactor.text)
            except ToolError as exc:
                result.diagnostics = f"(diagnostics unavailable: {exc.line()})"
        result.view = replace(result.view, rollout_error=result.redactor.text(result.view.rollout_error))
        result.log[:] = [result.redactor.text(line) for line in result.log]
        return result

    # -- scenarios ---------------------------------------------------------------------------------
    def install_scenario(
        self,
        case_id: str,
        chart: Chart,
        values_file: ValuesFile,
        helm: HelmBinary,
        *,
        prerequisites: tuple[str, ...] = (),
        restart: bool = True,
        hub: bool = True,
        hub_chart: Path | None = None,
        tamper: tuple[Tamper, ...] = (),
    ) -> LiveCaseResult:
        values = values_file.data
        redactor = redactor_for(values, public_values=chart.defaults)
        log = self.case_log(case_id, redactor)
        namespace = self.cluster.create_namespace(case_id)
        client = self.client(helm, namespace)
        self._prerequisites(namespace, prerequisites, log)
        self._prepare_images(client, chart, values, log)
        installed = self._helm_step(client, chart.path, values, log, "install")
        rollout_error = "" if installed.ok else f"helm install failed: {installed.error}"
        if installed.ok:
            rollout = self._rollout(namespace, log, "install")
            rollout_error = "" if rollout.ok else rollout.reason
        for edit in tamper:  # a hand edit after the install (mutants of the drift rule)
            self.kube.patch(edit.kind, edit.name, edit.patch, namespace)
            log.say(f"by hand: patched {edit.kind}/{edit.name} with {json.dumps(edit.patch)}")
        state = self.snapshot(namespace)
        self.add_cluster_secrets(redactor, state)
        topology = self._release_topology(client) if installed.ok else None
        probes = self._probe(state, log) if installed.ok else None
        restarted = timeline = None
        if installed.ok and not rollout_error and restart:
            restarted = self._restart_check(client, chart.path, values, state, log)
        if installed.ok and not rollout_error and hub:
            if state.pods(STREAM_HUB):
                variant = hub_chart or chart.path
                self._variants += 1
                rolled = rollout_variant(variant, self.workdir / f"rollout-{self._variants}-{variant.name}")
                _, _, timeline = self._watched_upgrade(
                    client, rolled, values, log, "upgrade to the chart with a bumped version"
                )
                hubs = [w.name for w in state.topology.components(STREAM_HUB) if w.kind == "Deployment"]
                if not timeline.replaced and hubs:
                    # the chart's pod templates do not carry its version (the public chart): roll them anyway
                    _, _, timeline = self._watched_restart(namespace, hubs, log)
            else:
                timeline = PodTimeline(STREAM_HUB, 0, (), (), False, "the release (no stream-hub)")
        view = LiveView(
            self.release,
            namespace,
            state,
            topology,
            None,
            rollout_error=rollout_error,
            restart=restarted,
            hub=timeline,
        )
        findings = self.evaluate(view, values_file, chart, redactor)
        if probes is not None:
            findings.update(self._redacted(probes.findings, redactor))
        result = LiveCaseResult(
            case_id,
            f"{values_file.path} with {chart.label} ({helm.label})",
            self.release,
            namespace,
            view,
            findings,
            redactor,
            log.lines,
            log_times=log.times,
            probe_targets=dict(probes.targets) if probes is not None else {},
        )
        return self.finish(result)

    def _restart_check(
        self, client: ReleaseClient, chart: Path, values: dict[str, Any], before: LiveState, log: CaseLog
    ) -> PodChange | None:
        what = "upgrade with unchanged values"
        outcome = self._helm_step(client, chart, values, log, what)
        if not outcome.ok:
            return None
        self._rollout(client.namespace, log, what)
        after = self.snapshot(client.namespace)

        def pods(state: LiveState) -> dict[str, str]:
            return {p["metadata"]["name"]: p["metadata"]["uid"] for p in state.pods()}

        def newest_rs(state: LiveState) -> dict[str, str]:
            found = {}
            for deployment in state.of("Deployment"):
                name = deployment["metadata"]["name"]
                owned = [
                    rs
                    for rs in state.replica_sets_of(name)
                    if int((rs.get("spec") or {}).get("replicas") or 0) > 0
                ] or state.replica_sets_of(name)
                if owned:
                    found[name] = max(
                        owned,
                        key=lambda rs: int(
                            rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0)
                        ),
                    )["metadata"]["name"]
            return found

        return PodChange(pods(before), pods(after), newest_rs(before), newest_rs(after), what)

    def upgrade_scenario(
        self,
        case_id: str,
        case: UpgradeCase,
        *,
        prerequisites: tuple[str, ...] = (),
        prediction: tuple[str, ...] | None = None,
    ) -> LiveCaseResult:
        """Install the pair's from-side, then really ``helm upgrade`` to its to-side."""
        pair = case.pair
        from_values = load_side_values(pair.from_side)
        to_values = load_side_values(pair.to_side)
        redactor = redactor_for({**from_values.data, **to_values.data}, public_values=case.to_chart.defaults)
        log = self.case_log(case_id, redactor)
        if prediction is None:
            prediction = predicted_rejections(case)
        namespace = self.cluster.create_namespace(case_id)
        client = self.client(case.renderer.helm, namespace)
        self._prerequisites(namespace, prerequisites, log)
        self._prepare_images(client, case.from_chart, from_values.data, log)
        self._prepare_images(client, case.to_chart, to_values.data, log)
        installed = self._helm_step(
            client, case.from_chart.path, from_values.data, log, f"install {pair.from_side.values_label}"
        )
        rollout_error = "" if installed.ok else f"helm install of the from-side failed: {installed.error}"
        if installed.ok:
            rollout = self._rollout(namespace, log, "install")
            rollout_error = "" if rollout.ok else rollout.reason
        before = self.snapshot(namespace)
        self.add_cluster_secrets(redactor, before)
        outcome = after = timeline = probes = None
        if installed.ok and not rollout_error:
            # who answers the WebSockets before: the monolith, for a conversion to microservices
            probed_before = self._probe(before, log, families=("ws",))
            upgraded, rolled, timeline = self._watched_upgrade(
                client,
                case.to_chart.path,
                to_values.data,
                log,
                f"helm upgrade to {pair.to_side.values_label} with {case.to_chart.label}",
            )
            after = self.snapshot(namespace)
            self.add_cluster_secrets(redactor, after)
            if upgraded.ok and rolled is not None and not rolled.ok:
                rollout_error = f"after the upgrade: {rolled.reason}"
            probes = self._probe(after, log) if upgraded.ok else None
            outcome = UpgradeOutcome(
                pair.name,
                f"{pair.from_side.values_label} ({case.from_chart.label})",
                f"{pair.to_side.values_label} ({case.to_chart.label})",
                upgraded.ok,
                redactor.text(upgraded.error),
                prediction,
                before,
                after,
                websocket_before=dict(probed_before.answered_by) if probed_before else {},
                websocket_after=dict(probes.answered_by) if probes else {},
            )
        topology = self._release_topology(client) if installed.ok else None
        view = LiveView(
            self.release,
            namespace,
            after or before,
            topology,
            None,
            rollout_error=rollout_error,
            hub=timeline,
            upgrade=outcome,
        )
        findings = self.evaluate(view, to_values, case.to_chart, redactor)
        if probes is not None:
            findings.update(self._redacted(probes.findings, redactor))
        label = (
            f"upgrade {pair.name}: {pair.from_side.values_label} ({case.from_chart.label}) -> "
            f"{pair.to_side.values_label} ({case.to_chart.label}), {case.renderer.helm.label}"
        )
        return self.finish(
            LiveCaseResult(
                case_id,
                label,
                self.release,
                namespace,
                view,
                findings,
                redactor,
                log.lines,
                log_times=log.times,
                probe_targets=dict(probes.targets) if probes is not None else {},
            )
        )

    def release_case(self, result: LiveCaseResult) -> None:
        """The case's tests are done: delete its namespace (only one this run created).

        Namespace deletion is asynchronous; cluster-wide allocations (a pinned clusterIP, node ports) are
        freed first and synchronously, so the next case can pin the same address."""
        if result.audit or not self.cluster.alive:
            return
        topology = result.view.release_topology
        pinned = topology is not None and any(
            (s.cluster_ip and s.cluster_ip != "None") or s.type in ("NodePort", "LoadBalancer")
            for s in topology.services
        )
        if pinned and result.namespace in self.cluster.created:
            try:
                services = [
                    s["metadata"]["name"] for s in self.kube.list_objects("Service", result.namespace)
                ]
                for name in services:
                    self.kube.delete("Service", name, result.namespace)
                self.kube.wait_gone("Service", services, result.namespace, 60)
            except ToolError:
                pass
        self.cluster.delete_namespace(result.namespace)
        self.cluster.release_volumes()


def predicted_rejections(case: UpgradeCase) -> tuple[str, ...]:
    """The render-time lane's prediction: the failures of ``upgrade.immutable-fields`` for this pair (one line each)."""
    result = evaluate_upgrade(case, rules=[r for r in rules_for_lane("upgrade") if r.id == IMMUTABLE_RULE])
    if result.input_error:
        raise UserError(result.input_error)
    return tuple(f.one_line() for f in result.findings.get(IMMUTABLE_RULE, []) if f.verdict == Verdict.FAIL)
