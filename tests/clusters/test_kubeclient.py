"""The one Kubernetes client (clusters/kubeclient.py) against a stand-in API server on loopback: objects come
back as dicts with their kind, a missing object is None, errors are one line, watches deliver the initial
list and later changes and stop at once, and every request is recorded (the audit's read-only proof)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from waits import eventually

from quickmeet_conformance.clusters.kubeclient import API_LOG_ENV, KubeClient, api_class_name, snake
from quickmeet_conformance.errors import ToolError

POD = {
    "metadata": {"name": "web-1", "namespace": "ns", "resourceVersion": "5"},
    "status": {"phase": "Running"},
}


class FakeApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    release = threading.Event()

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # http.server's name
        if self.path.rstrip("/") == "/version":
            self._send(200, {"gitVersion": "v1.35.0"})
        elif self.path.startswith("/api/v1/namespaces/ns/pods?") and "watch=true" in self.path:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for kind in ("ADDED", "MODIFIED"):
                line = json.dumps({"type": kind, "object": {**POD, "kind": "Pod"}}).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            FakeApi.release.wait(30)  # an open stream with nothing new, as a real watch
        elif self.path.startswith("/api/v1/namespaces/ns/pods"):
            if self.path.startswith("/api/v1/namespaces/ns/pods/missing"):
                self._send(404, {"kind": "Status", "message": 'pods "missing" not found', "code": 404})
            else:
                self._send(200, {"kind": "PodList", "items": [POD]})
        else:
            self._send(403, {"kind": "Status", "message": "forbidden: read-only identity", "code": 403})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(409, {"kind": "Status", "message": "already exists", "code": 409})


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeClient]:
    monkeypatch.setenv(API_LOG_ENV, str(tmp_path / "api.log"))
    FakeApi.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    configuration = k8s.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    client = KubeClient(k8s.ApiClient(configuration), timeout_s=5)
    try:
        yield client
    finally:
        FakeApi.release.set()
        server.shutdown()
        server.server_close()


def test_names_follow_the_official_client() -> None:
    assert (
        snake("StatefulSet") == "stateful_set"
        and snake("HorizontalPodAutoscaler") == "horizontal_pod_autoscaler"
    )
    assert api_class_name("v1") == "CoreV1Api" and api_class_name("apps/v1") == "AppsV1Api"
    assert api_class_name("rbac.authorization.k8s.io/v1") == "RbacAuthorizationV1Api"
    assert api_class_name("discovery.k8s.io/v1") == "DiscoveryV1Api"


def test_reads_are_dicts_with_kind_and_every_request_is_recorded(kube: KubeClient, tmp_path: Path) -> None:
    pods = kube.list_objects("Pod", "ns", label_selector="app=web")
    assert [(p["kind"], p["apiVersion"], p["metadata"]["name"]) for p in pods] == [("Pod", "v1", "web-1")], (
        pods
    )
    assert kube.get("Pod", "missing", "ns") is None, "a missing object must read as None"
    assert kube.server_version() == "v1.35.0"
    with pytest.raises(ToolError, match="forbidden: read-only identity"):
        kube.list_objects("Secret", "ns")
    assert kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}, exist_ok=True)
    logged = (tmp_path / "api.log").read_text().splitlines()
    assert [str(c) for c in kube.calls] == logged, "QMC_API_LOG must hold exactly the recorded calls"
    assert logged[0] == "GET /api/v1/namespaces/ns/pods?labelSelector=app%3Dweb", logged
    assert [str(c) for c in kube.writes()] == ["POST /api/v1/namespaces"], kube.writes()


def test_watch_delivers_events_and_stops_at_once(kube: KubeClient) -> None:
    events: list[tuple[str, str]] = []
    with kube.watch("Pod", "ns", lambda kind, obj: events.append((kind, obj["metadata"]["name"]))) as watch:
        assert watch.wait_seen({"web-1"}, timeout=10), f"the initial list never arrived: {watch.error}"
        eventually("the ADDED and MODIFIED events", lambda: len(events) >= 2, timeout=10, interval=0.05)
        started = time.monotonic()
    assert time.monotonic() - started < 3, "stopping a watch blocked on an idle stream took too long"
    assert events == [("ADDED", "web-1"), ("MODIFIED", "web-1")], events
    assert all(c.method == "GET" for c in kube.calls) and "watch=true" in kube.calls[0].path, kube.calls
