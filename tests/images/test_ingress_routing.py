"""The kind lane's ingress controller, Traefik built here, really routes the reference chart's Ingress as
ingress-nginx would, WebSocket upgrades included, with no container engine: the Traefik binary runs on
loopback against the KWOK lane's real API server, the chart's Services point (as ExternalName) at the
ddp-streamer and monolith stand-ins on 127.0.0.1, and the framework's DDP probe goes through Traefik.

CONTRACT.md > Wiring: Ingress: `/websocket` and `/sockjs` (Prefix) go to ddp-streamer, `/` to the monolith;
`ingressClassName: nginx` needs a controller for that class. Skipped with the command to run when the
Traefik binary (scripts/build-app-images.sh traefik) or the control plane (scripts/build-control-plane.sh)
is missing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import probe_peers as peers
import pytest
import yaml
from lane_gate import kind_unavailable
from waits import last_observation

from quickmeet_conformance import subprocesses
from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.clusters import images
from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.findings import Finding, Verdict
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.probes import ddp
from quickmeet_conformance.probes import rules as probe_rules
from quickmeet_conformance.render import Renderer, RenderRequest

REPO = peers.REPO
KUBECTL = REPO / ".tools" / "bin" / "kubectl"
NAMESPACE = "rel"
VALUES = "seed-docs.yaml"  # the documented values: Ingress class nginx with TLS, microservices on


Routed = tuple[Path, dict[str, Any], int, int]  # admin kubeconfig, the chart's Ingress, http port, https port


def failures(findings: list[Finding]) -> str:
    return "\n".join(f"{f.verdict.value}: {f.detail()}" for f in findings if f.verdict is not Verdict.PASS)


def traefik_binary() -> Path:
    go_mod = (REPO / "tools" / "images" / "traefik" / "go.mod").read_text()
    version = re.search(r"github\.com/traefik/traefik/v3 (v\S+)", go_mod)
    assert version, "tools/images/traefik/go.mod does not require github.com/traefik/traefik/v3"
    cache = Path(
        os.environ.get("QMC_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "quickmeet-conformance"
    )
    return cache / "images" / "traefik" / version.group(1) / "traefik"


def kubectl(kubeconfig: Path, *args: str, stdin: str = "") -> str:
    proc = subprocesses.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), *args], input=stdin, timeout_s=60)
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr.strip()}"
    return proc.stdout


def chart_objects(tmp: Path) -> list[dict[str, Any]]:
    """The reference chart's Ingress and the Services it routes to, rendered with VALUES (release "rel"), and
    the TLS Secrets the kind lane provides for it (images.placeholder_tls_secrets)."""
    renderer = Renderer(resolve_helm(str(REPO / ".tools" / "bin" / "helm3")))
    chart = load_chart(
        str(REPO / "fixtures" / "charts" / "rocketchat"),
        version=None,
        helm_path=renderer.helm.path,
        workdir=tmp,
    )
    values = yaml.safe_load((REPO / "fixtures" / "values" / VALUES).read_text())
    rendered = renderer.render(RenderRequest(chart=chart, values=values, release="rel", namespace=NAMESPACE))
    objects = [json.loads(json.dumps(m.body)) for m in rendered.manifests if m.kind in ("Ingress", "Service")]
    objects += images.placeholder_tls_secrets(rendered.manifests, tmp, NAMESPACE)
    for obj in objects:
        obj["metadata"]["namespace"] = NAMESPACE
    return objects


def to_loopback(service: dict[str, Any], port: int) -> dict[str, Any]:
    """``service`` as an ExternalName for 127.0.0.1 with its port ``http`` on ``port`` (a stand-in).
    The API server refuses loopback addresses in EndpointSlices; an ExternalName Service keeps the chart's
    Service name and port names, which is all the Ingress refers to."""
    spec = service["spec"]
    for key in ("selector", "clusterIP", "clusterIPs", "type"):
        spec.pop(key, None)
    spec["type"] = "ExternalName"
    spec["externalName"] = "127.0.0.1"
    spec["ports"] = [{"name": "http", "port": port, "protocol": "TCP"}]  # the port the Ingress names
    return service


@pytest.fixture(scope="module")
def routed(log_dir: Path) -> Iterator[Routed]:
    """KWOK's API server with the chart's Ingress, Traefik on loopback, the two DDP stand-ins behind it."""
    binary = traefik_binary()
    if not binary.is_file():
        kind_unavailable(f"Traefik not built ({binary}): run scripts/build-app-images.sh traefik")
    from quickmeet_conformance.clusters.providers.kwok import KwokClusterProvider

    provider = KwokClusterProvider(nodes=1, persistent_volumes=0, ingress_class=None, name="qmc-ingress-test")
    try:
        handle = provider.start()
    except ToolError as exc:
        kind_unavailable(exc.line())
    started: list[peers.Peer] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            objects = chart_objects(Path(tmp))
        streamer, streamer_addr = peers.start_ddp_server("ddp-streamer", log_dir)
        started.append(streamer)
        monolith, monolith_addr = peers.start_ddp_server("monolith", log_dir)
        started.append(monolith)
        ports = {
            "ddp-streamer": int(streamer_addr.rsplit(":", 1)[1]),
            "monolith": int(monolith_addr.rsplit(":", 1)[1]),
        }
        ingress = next(o for o in objects if o["kind"] == "Ingress")
        backends = {
            p["backend"]["service"]["name"]: p["path"]
            for r in ingress["spec"]["rules"]
            for p in r["http"]["paths"]
        }
        controller = {o["kind"]: o for o in yaml.safe_load_all(images.INGRESS_MANIFEST.read_text()) if o}
        manifest: list[dict[str, Any]] = [controller["IngressClass"]]
        manifest.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        for service in (o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] in backends):
            target = "ddp-streamer" if backends[service["metadata"]["name"]] != "/" else "monolith"
            manifest.append(to_loopback(service, ports[target]))
        manifest += [o for o in objects if o["kind"] == "Secret"]
        manifest.append(ingress)
        kubectl(
            handle.kubeconfig, "apply", "-f", "-", stdin="\n---\n".join(yaml.safe_dump(o) for o in manifest)
        )

        # Traefik as the in-cluster Deployment runs it, but against KWOK's API with a read-only token.
        readonly = yaml.safe_load(provider.readonly_kubeconfig().read_text())
        ca = log_dir / "kwok-ca.crt"
        ca.write_bytes(base64.b64decode(readonly["clusters"][0]["cluster"]["certificate-authority-data"]))
        web, websecure, admin = peers.free_port(), peers.free_port(), peers.free_port()
        pod = controller["Deployment"]["spec"]["template"]["spec"]
        args = [a for a in pod["containers"][0]["args"] if not a.startswith("--entryPoints.")]
        argv = [
            str(binary),
            *args,
            f"--entryPoints.web.address=127.0.0.1:{web}",
            f"--entryPoints.websecure.address=127.0.0.1:{websecure}",
            "--entryPoints.websecure.http.tls=true",
            f"--entryPoints.traefik.address=127.0.0.1:{admin}",
            f"--providers.kubernetesingressnginx.endpoint={provider.server}",
            f"--providers.kubernetesingressnginx.token={readonly['users'][0]['user']['token']}",
            f"--providers.kubernetesingressnginx.certAuthFilePath={ca}",
        ]
        traefik = peers.start("traefik", argv, log_dir, ready_check=lambda: peers.port_open(web), timeout=60)
        started.append(traefik)
        yield handle.kubeconfig, ingress, web, websecure
    finally:
        peers.stop_all(started)
        provider.stop()


def host_of(ingress: dict[str, Any]) -> str:
    """The host the chart's Ingress rules serve (the probe dials 127.0.0.1 and keeps this Host/SNI)."""
    return next((r["host"] for r in ingress["spec"]["rules"] if r.get("host")), "127.0.0.1")


def probe_options(port: int) -> ddp.DdpProbeOptions:
    return ddp.DdpProbeOptions(insecure=True, connect_to=("127.0.0.1", port))


def _observe_until_routed(url: str, options: ddp.DdpProbeOptions) -> ddp.DdpObservation:
    """Traefik applies the Ingress (and its Secret) a moment after it starts, in steps: probe until every
    route answers (bounded)."""
    return last_observation(
        "every route answers",
        lambda: ddp.observe_ddp_sync(url, options),
        lambda obs: obs.websocket.upgraded and obs.sockjs.upgraded and obs.sockjs_info_status == 200,
        timeout=30,
        interval=1,
    )


def test_chart_ingress_routes_websocket_paths_to_ddp_streamer_through_traefik(routed: Routed) -> None:
    """The reference chart's Ingress (class nginx, TLS) through Traefik: https, /websocket and /sockjs
    upgraded and answered by ddp-streamer."""
    _, ingress, _, websecure = routed
    obs = _observe_until_routed(f"https://{host_of(ingress)}", probe_options(websecure))
    findings = probe_rules.evaluate_ddp(obs)
    assert all(f.verdict is Verdict.PASS for f in findings), failures(findings)
    assert obs.sockjs_ms is True, obs.sockjs_info


def test_http_is_redirected_to_https_as_ingress_nginx_does(routed: Routed) -> None:
    """An Ingress with a `tls` section: plain HTTP gets ingress-nginx's permanent redirect to https."""
    import http.client

    _, ingress, web, _ = routed
    conn = http.client.HTTPConnection("127.0.0.1", web, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host_of(ingress)})
        response = conn.getresponse()
        assert response.status in (301, 308), response.status
        assert response.getheader("Location", "").startswith("https://"), response.getheader("Location")
    finally:
        conn.close()


def test_websocket_paths_routed_to_the_monolith_are_caught(routed: Routed) -> None:
    """Mutant: the Ingress sends /websocket and /sockjs to the monolith Service; the probe names the
    monolith."""
    kubeconfig, ingress, _, websecure = routed
    mutant = json.loads(json.dumps(ingress))
    root = next(p for r in mutant["spec"]["rules"] for p in r["http"]["paths"] if p["path"] == "/")
    for rule in mutant["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            path["backend"] = root["backend"]
    kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump(mutant))
    try:
        reached = last_observation(
            "both routes reach the monolith",
            lambda: probe_rules.evaluate_probe_rule(
                probe_rules.DdpContext(
                    ddp.observe_ddp_sync(f"https://{host_of(ingress)}", probe_options(websecure))
                ),
                ddp.RULE_REACHES_DDP_STREAMER,
            ),
            lambda found: all(f.verdict is Verdict.FAIL for f in found),
            timeout=30,
            interval=1,
        )
        assert [f.verdict for f in reached] == [Verdict.FAIL, Verdict.FAIL], failures(reached)
        assert all("the monolith answered" in f.message for f in reached), failures(reached)
    finally:
        kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump(ingress))
