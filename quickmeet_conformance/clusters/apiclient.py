"""The few Kubernetes API calls a provider needs to bootstrap a cluster, over plain HTTPS.

Deliberately tiny (no client library dependency): JSON in, JSON out, with a timeout on every call.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quickmeet_conformance.clusters.pki import KeyPair

REQUEST_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any  # decoded JSON, or the raw text when the server did not send JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class KubeApi:
    """Calls one API server as one identity (a client certificate or a bearer token)."""

    def __init__(self, server: str, ca_cert: Path, *, client: KeyPair | None = None, token: str | None = None) -> None:
        parts = urlsplit(server)
        if parts.scheme != "https" or parts.hostname is None:
            raise ValueError(f"expected an https:// API server URL, got {server!r}")
        self._host = parts.hostname
        self._port = parts.port or 443
        self._token = token
        self._context = ssl.create_default_context(cafile=str(ca_cert))
        if client is not None:
            self._context.load_cert_chain(str(client.cert), str(client.key))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> ApiResponse:
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        conn = http.client.HTTPSConnection(self._host, self._port, context=self._context, timeout=timeout)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        try:
            decoded: Any = json.loads(raw)
        except ValueError:
            decoded = raw
        return ApiResponse(status=response.status, body=decoded)

    def get(self, path: str) -> ApiResponse:
        return self.request("GET", path)

    def merge_patch(self, path: str, body: dict[str, Any]) -> ApiResponse:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def create(self, path: str, body: dict[str, Any]) -> ApiResponse:
        """POST; an object that already exists (409) counts as success, so bootstrap can be re-run."""
        response = self.request("POST", path, body)
        if response.status == 409:
            return ApiResponse(status=200, body=response.body)
        return response
