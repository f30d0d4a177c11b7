"""The live lane's scenarios: install a case (or upgrade a pair) in a namespace of its own, observe, evaluate.

A values case:  install -> watch the rollout -> snapshot (topology and drift rules) -> ``helm upgrade``
with the same values (no pod may restart) -> when stream-hub runs, ``helm upgrade`` to the chart with a
bumped version (every pod template changes) while a pod watch counts the stream-hub pods that exist at once.

An upgrade pair: install the from-side -> snapshot -> ``helm upgrade`` to the to-side under a pod watch
-> did the API server accept it, and did the render-time lane predict that -> snapshot.

The steps live in ``steps.py``, the judging in ``evaluation.py``; this module puts them in order and cleans
up after a case. Every step is bounded, prints a progress line, and is redacted before it reaches a report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..charts import Chart
from ..errors import ToolError
from ..findings import Finding
from ..helm import HelmBinary
from ..redact import Redactor, redactor_for
from ..topology import STREAM_HUB
from ..upgrade import UpgradeCase, load_side_values
from ..values import ValuesFile
from .case import CaseLog, LiveCaseResult, Tamper
from .evaluation import (
    add_cluster_secrets,
    evaluate_view,
    finish_case,
    predicted_rejections,
    redacted,
)
from .state import LiveState, LiveView, PodChange, PodTimeline, UpgradeOutcome
from .steps import ReleaseSteps, rollout_variant

if TYPE_CHECKING:  # .release imports pyhelm3: loaded when a live case runs
    from .release import ReleaseClient


class LiveLane(ReleaseSteps):
    """Runs live scenarios on one cluster. Plain Python: the pytest plugin only wires it."""

    def evaluate(
        self,
        view: LiveView,
        values_file: ValuesFile,
        chart: Chart,
        redactor: Redactor,
        rule_ids: tuple[str, ...] | None = None,
    ) -> dict[str, list[Finding]]:
        return evaluate_view(
            view, values_file, chart, redactor, options=self.options, matcher=self.matcher, rule_ids=rule_ids
        )

    add_cluster_secrets = staticmethod(add_cluster_secrets)

    def finish(self, result: LiveCaseResult) -> LiveCaseResult:
        return finish_case(self.kube, result)

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
        airgap: bool | None = None,
    ) -> LiveCaseResult:
        """``airgap``: this case's images as on an air-gapped cluster (None: the provider's --kind-images)."""
        values = values_file.data
        redactor = redactor_for(values, public_values=chart.defaults)
        log = self.case_log(case_id, redactor)
        namespace = self.cluster.create_namespace(case_id)
        client = self.client(helm, namespace)
        self.prerequisites(namespace, prerequisites, log)
        self.prepare_images(client, chart, values, log, airgap)
        installed = self.helm_step(client, chart.path, values, log, "install")
        rollout_error = "" if installed.ok else f"helm install failed: {installed.error}"
        if installed.ok:
            rollout = self.rollout(namespace, log, "install")
            rollout_error = "" if rollout.ok else rollout.reason
        for edit in tamper:  # a hand edit after the install (mutants of the drift rule)
            self.kube.patch(edit.kind, edit.name, edit.patch, namespace)
            log.say(f"by hand: patched {edit.kind}/{edit.name} with {json.dumps(edit.patch)}")
        state = self.snapshot(namespace)
        add_cluster_secrets(redactor, state)
        topology = self.release_topology(client) if installed.ok else None
        probes = self.probe(state, log) if installed.ok else None
        restarted = timeline = None
        if installed.ok and not rollout_error and restart:
            restarted = self._restart_check(client, chart.path, values, state, log)
        if installed.ok and not rollout_error and hub:
            if state.pods(STREAM_HUB):
                variant = hub_chart or chart.path
                self._variants += 1
                rolled = rollout_variant(variant, self.workdir / f"rollout-{self._variants}-{variant.name}")
                _, _, timeline = self.watched_upgrade(
                    client, rolled, values, log, "upgrade to the chart with a bumped version"
                )
                hubs = [w.name for w in state.topology.components(STREAM_HUB) if w.kind == "Deployment"]
                if not timeline.replaced and hubs:
                    # the chart's pod templates do not carry its version (the public chart): roll them anyway
                    _, _, timeline = self.watched_restart(namespace, hubs, log)
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
            findings.update(redacted(probes.findings, redactor))
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
            waits=list(log.waits),
            probe_targets=dict(probes.targets) if probes is not None else {},
        )
        return self.finish(result)

    def _restart_check(
        self, client: ReleaseClient, chart: Path, values: dict[str, Any], before: LiveState, log: CaseLog
    ) -> PodChange | None:
        what = "upgrade with unchanged values"
        outcome = self.helm_step(client, chart, values, log, what)
        if not outcome.ok:
            return None
        self.rollout(client.namespace, log, what)
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
        self.prerequisites(namespace, prerequisites, log)
        self.prepare_images(client, case.from_chart, from_values.data, log)
        self.prepare_images(client, case.to_chart, to_values.data, log)
        installed = self.helm_step(
            client, case.from_chart.path, from_values.data, log, f"install {pair.from_side.values_label}"
        )
        rollout_error = "" if installed.ok else f"helm install of the from-side failed: {installed.error}"
        if installed.ok:
            rollout = self.rollout(namespace, log, "install")
            rollout_error = "" if rollout.ok else rollout.reason
        before = self.snapshot(namespace)
        add_cluster_secrets(redactor, before)
        outcome = after = timeline = probes = None
        if installed.ok and not rollout_error:
            # who answers the WebSockets before: the monolith, for a conversion to microservices
            probed_before = self.probe(before, log, families=("ws",))
            upgraded, rolled, timeline = self.watched_upgrade(
                client,
                case.to_chart.path,
                to_values.data,
                log,
                f"helm upgrade to {pair.to_side.values_label} with {case.to_chart.label}",
            )
            after = self.snapshot(namespace)
            add_cluster_secrets(redactor, after)
            if upgraded.ok and rolled is not None and not rolled.ok:
                rollout_error = f"after the upgrade: {rolled.reason}"
            probes = self.probe(after, log) if upgraded.ok else None
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
        topology = self.release_topology(client) if installed.ok else None
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
            findings.update(redacted(probes.findings, redactor))
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
                waits=list(log.waits),
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
