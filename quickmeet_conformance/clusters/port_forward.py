"""``kubectl port-forward`` to a Service: the one thing the package asks kubectl rather than the API client.

The official client has no port-forward for Services (only a websocket stream to one pod), so this stays a
subprocess: a managed process (its own group, killed with us), its output in a log that is read only to
explain a failure, bounded by a readiness wait on the loopback port.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

from quickmeet_conformance.clusters.base import ClusterHandle, find_kubectl
from quickmeet_conformance.clusters.processes import ManagedProcess, free_loopback_port, wait_for

READY_TIMEOUT_S = 60.0  # a deadline with a failure condition (kubectl exits): generous on a busy machine


class PortForward:
    """``kubectl port-forward svc/NAME LOCAL:REMOTE`` for the length of a with-block: a managed process (its
    own group, killed with us), its output in a log that is read only to explain a failure."""

    def __init__(self, handle: ClusterHandle, namespace: str, service: str, remote_port: int) -> None:
        self.local_port = free_loopback_port()
        self.what = f"port-forward svc/{service} {namespace} -> 127.0.0.1:{self.local_port}"
        self._log_dir = Path(tempfile.mkdtemp(prefix="qmc-port-forward-"))
        self._process = ManagedProcess(
            "kubectl port-forward",
            [
                str(find_kubectl()),
                "--kubeconfig",
                str(handle.kubeconfig),
                *(("--context", handle.context) if handle.context else ()),
                "port-forward",
                "-n",
                namespace,
                "--address",
                "127.0.0.1",
                f"svc/{service}",
                f"{self.local_port}:{remote_port}",
            ],
            self._log_dir / "port-forward.log",
        )

    def __enter__(self) -> PortForward:
        def ready() -> bool:
            with socket.socket() as sock:
                sock.settimeout(0.5)
                return sock.connect_ex(("127.0.0.1", self.local_port)) == 0

        try:
            self._process.start()
            wait_for(self.what, ready, timeout=READY_TIMEOUT_S, failure=self._process.failure, interval=0.2)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.stop(timeout=5)
        shutil.rmtree(self._log_dir, ignore_errors=True)


def port_forward(handle: ClusterHandle, namespace: str, service: str, remote_port: int) -> PortForward:
    """A with-block that forwards a free loopback port (``.local_port``) to ``service:remote_port``."""
    return PortForward(handle, namespace, service, remote_port)
