"""The steps of a live scenario on one cluster: prepare a namespace, run helm, watch the rollout, snapshot,
probe. Each step is bounded and says what it did on the case's log; the scenarios (``scenario.py``) put the
steps in order and the evaluation (``evaluation.py``) judges what they observed.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..charts import Chart
from ..clusters.images import standin_image, values_registry
from ..clusters.kubeclient import KubeClient
from ..errors import ToolError, UserError
from ..helm import HelmBinary
from ..redact import Redactor
from ..render import Renderer, RenderRequest, parse_manifests
from ..rules.engine import Options
from ..topology import BUS_CLIENTS, MONGODB, STREAM_HUB, ComponentMatcher, Topology, build_topology
from . import external_mongodb
from .case import CaseLog
from .cluster import LiveCluster
from .pod_counter import PodCounter
from .probing import ProbeRun, ProbeTargets, probe_release
from .rollout import DEFAULT_ROLLOUT_TIMEOUT_S, RolloutResult, wait_for_rollout
from .state import SNAPSHOT_KINDS, LiveState, PodTimeline

if (
    TYPE_CHECKING
):  # .release imports pyhelm3 (pydantic models): loaded when a live case runs, not by every session
    from .release import HelmOutcome, ReleaseClient

WATCH_SYNC_TIMEOUT_S = 60.0  # the watch lists what exists: seconds, or a minute on a saturated machine


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


class ReleaseSteps:
    """The steps a scenario runs against one cluster. Plain Python: the pytest plugin only wires it."""

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

    def case_log(self, case_id: str, redactor: Redactor) -> CaseLog:
        return CaseLog(case_id, redactor, self.write)

    def client(self, helm: HelmBinary, namespace: str) -> ReleaseClient:
        handle = self.cluster.handle
        from .release import ReleaseClient

        return ReleaseClient(helm, Path(handle.kubeconfig), handle.context, self.release, namespace)

    def prerequisites(self, namespace: str, stems: tuple[str, ...], log: CaseLog) -> None:
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
        # what the lane started beside the release (an external MongoDB) is not the release's
        mine = [obj for obj in listing if not external_mongodb.is_outside(obj)]
        return LiveState.from_list(namespace, {"items": mine}, self.matcher)

    def prepare_images(
        self,
        client: ReleaseClient,
        chart: Chart,
        values: dict[str, Any],
        log: CaseLog,
        airgap: bool | None = None,
    ) -> None:
        """On a cluster that runs containers from local images (kind, --kind-images local): make every image the
        release will reference present in the cluster before helm installs it (nothing is pulled)."""
        provider = self.cluster.provider
        if provider is None or not provider.supports_images or not self.cluster.owned:
            return
        try:
            rendered = Renderer(client.helm).render(
                RenderRequest(chart, values, release=self.release, namespace=client.namespace)
            )
        except UserError:
            return  # helm install reports the same refusal
        registry = None
        if provider.airgap if airgap is None else airgap:
            registry = values_registry(values)
            log.say(
                f"air-gap: only images under {registry or '(no registry named by the values)'} are present"
            )
        loaded = provider.prepare_images(rendered.manifests, self.matcher, registry)
        if loaded:
            log.say(f"images: {len(loaded)} loaded into the cluster ({', '.join(sorted(loaded))})")
        topology = build_topology(rendered.manifests, self.matcher)
        scaled = sorted(
            w.ref
            for w in topology.workloads
            if w.component in BUS_CLIENTS and (w.effective_replicas or 0) > 1
        )
        if scaled and any("-> stand-in" in line for line in loaded):
            log.say(
                "licence: not modelled by the stand-ins: without an enterprise licence the real services' scaled "
                f"replicas ({', '.join(scaled)}) stop themselves after about 40 s (CONTRACT.md > On the bus); "
                "the stand-ins keep running"
            )
        self.external_servers(topology, values, client.namespace, log)
        secrets = provider.tls_secrets(client.namespace, rendered.manifests, self.workdir)
        for secret in secrets:
            self.kube.create(secret, client.namespace, exist_ok=True)
        if secrets:
            made = ", ".join(str(s["metadata"]["name"]) for s in secrets)
            log.say(f"self-signed TLS Secret(s) {made} created, as cert-manager would")

    def external_servers(
        self, topology: Topology, values: dict[str, Any], namespace: str, log: CaseLog
    ) -> None:
        """Start the MongoDB the release's URLs name outside it (``externalMongodbUrl``), as its customer runs
        one: the same FerretDB server as the bundled subchart's, with the URLs' users (external_mongodb.py)."""
        provider = self.cluster.provider
        if provider is None:
            return
        servers, notes = external_mongodb.plan(
            topology, values, release=self.release, namespace=namespace, matcher=self.matcher
        )
        for note in notes:
            log.say(note)
        for server in servers:
            objects = external_mongodb.manifests(server, standin_image(MONGODB))
            provider.prepare_images(parse_manifests(yaml.safe_dump_all(objects), "the lane"), self.matcher)
            for body in objects:
                self.kube.create(body, namespace, exist_ok=True)
            log.say(f"external MongoDB started outside the release (FerretDB): {server.describe()}")

    def probe(
        self,
        state: LiveState,
        log: CaseLog,
        families: tuple[str, ...] = ("bus", "ws"),
        targets: ProbeTargets | None = None,
    ) -> ProbeRun | None:
        """The NATS bus and DDP probes against the release, on clusters whose pods really run (kind), or on a
        cluster someone else runs when ``targets`` says where its ingress listens (--cluster existing)."""
        if targets is None:
            provider = self.cluster.provider
            if provider is None or not provider.supports_probes or not self.cluster.owned:
                return None
            ports = provider.ingress_ports()
            if ports is None:
                return None
            targets = ProbeTargets(ingress_http_port=ports.http, ingress_https_port=ports.https)
        run = probe_release(
            self.cluster.handle,
            state,
            state.topology,
            targets,
            log.say,
            families,
            kube=self.kube,
            options=self.options,
        )
        log.waits.extend(run.waits)
        return run

    def helm_step(
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

    def rollout(self, namespace: str, log: CaseLog, what: str) -> RolloutResult:
        result = wait_for_rollout(
            self.kube, namespace, timeout_s=self.rollout_timeout_s, write=log.say, what=f"{what} rollout"
        )
        log.waits.append(result.waited(f"{what} rollout"))
        log.say(
            f"{what} rollout: {'complete' if result.ok else 'FAILED'} after "
            f"{result.seconds:.1f}s" + ("" if result.ok else f": {result.reason}")
        )
        return result

    def release_topology(self, client: ReleaseClient) -> Topology | None:
        try:
            text = client.manifest_text()
            return build_topology(
                parse_manifests(text, f"release {client.namespace}/{client.release}"), self.matcher
            )
        except UserError:
            return None

    def watched_upgrade(
        self, client: ReleaseClient, chart: Path, values: dict[str, Any], log: CaseLog, what: str
    ) -> tuple[HelmOutcome, RolloutResult | None, PodTimeline]:
        """``helm upgrade`` under a pod watch that counts the stream-hub pods existing at once."""
        return self.under_hub_watch(
            client.namespace, log, what, lambda: self.helm_step(client, chart, values, log, what)
        )

    def watched_restart(
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

        return self.under_hub_watch(namespace, log, what, restart)

    def under_hub_watch(
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
            rollout = self.rollout(namespace, log, what) if outcome.ok else None
        timeline = counter.result(what)
        log.say(f"{what}: at most {timeline.peak} stream-hub pod(s) existed at once")
        return outcome, rollout, timeline
