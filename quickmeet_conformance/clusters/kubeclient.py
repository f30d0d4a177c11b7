"""The package's one way to talk to a Kubernetes API server: the official ``kubernetes`` client.

Built here and only here (from a kubeconfig and context, or from a server URL and credentials for a cluster
this run bootstraps). Objects go in and come out as plain dicts (the API's own JSON, ``kind`` and
``apiVersion`` filled in on listed items), so the rest of the package reads them like manifests. Every
request has a timeout and is recorded (method and path), so the audit can prove it only ever read; with
``QMC_API_LOG=FILE`` each one is also appended to FILE (``GET /api/v1/namespaces/x/pods?watch=true``).
Watches go through ``kubernetes.watch``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ..errors import ToolError
from .processes import wait_for

DEFAULT_TIMEOUT_S = 30.0
WATCH_CONNECT_TIMEOUT_S = 10.0
WATCH_IDLE_S = 300.0  # a stream quiet this long is reopened from the last resourceVersion
API_LOG_ENV = "QMC_API_LOG"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# apiVersion of each kind the package reads or writes (the typed API class and method follow from it)
API_VERSIONS: dict[str, str] = {
    **dict.fromkeys(
        (
            "Pod",
            "Service",
            "Secret",
            "ConfigMap",
            "PersistentVolumeClaim",
            "PersistentVolume",
            "Event",
            "Namespace",
            "Node",
            "ServiceAccount",
            "Endpoints",
        ),
        "v1",
    ),
    **dict.fromkeys(("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"), "apps/v1"),
    **dict.fromkeys(("Job", "CronJob"), "batch/v1"),
    "EndpointSlice": "discovery.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
    "IngressClass": "networking.k8s.io/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "Lease": "coordination.k8s.io/v1",
    "StorageClass": "storage.k8s.io/v1",
    "ValidatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
    **dict.fromkeys(
        ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"), "rbac.authorization.k8s.io/v1"
    ),
}
_CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "IngressClass",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
    }
)


@dataclass(frozen=True)
class ApiCall:
    method: str
    path: str  # with the query string

    @property
    def writes(self) -> bool:
        return self.method.upper() in WRITE_METHODS

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def snake(kind: str) -> str:
    """``StatefulSet`` -> ``stateful_set`` (the typed client's method names)."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", kind)).lower()


def api_class_name(api_version: str) -> str:
    """``apps/v1`` -> ``AppsV1Api``, ``rbac.authorization.k8s.io/v1`` -> ``RbacAuthorizationV1Api``."""
    group, _, version = api_version.rpartition("/")
    group = group.removesuffix(".k8s.io") or "core"
    return "".join(word.capitalize() for word in group.split(".")) + version.capitalize() + "Api"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def error_line(exc: BaseException) -> str:
    """One line for a failed API call: the server's Status message, else the reason."""
    if isinstance(exc, ApiException):
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, AttributeError):
            message = ""
        return f"HTTP {exc.status}: {message or exc.reason}"
    return f"{type(exc).__name__}: {exc}"


class KubeClient:
    """One cluster identity through the official client; every request bounded and recorded."""

    def __init__(
        self, api_client: k8s.ApiClient, *, timeout_s: float = DEFAULT_TIMEOUT_S, where: str = ""
    ) -> None:
        self.api_client = api_client
        self.timeout_s = timeout_s
        self.where = where
        self.calls: list[ApiCall] = []
        self._lock = threading.Lock()
        self._log = os.environ.get(API_LOG_ENV) or None
        self._apis: dict[str, Any] = {}
        self._record_requests()

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: str | os.PathLike[str], context: str = "", *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> KubeClient:
        where = str(kubeconfig) + (f" context {context}" if context else "")
        try:
            api_client = k8s_config.new_client_from_config(
                config_file=str(kubeconfig), context=context or None, persist_config=False
            )
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise ToolError(
                f"cannot use the kubeconfig: {exc}",
                where=where,
                fix="pass --kubeconfig/--kube-context of a reachable cluster",
            ) from None
        return cls(api_client, timeout_s=timeout_s, where=where)

    @classmethod
    def for_server(
        cls,
        server: str,
        ca_cert: str | os.PathLike[str],
        *,
        cert_file: str | os.PathLike[str] | None = None,
        key_file: str | os.PathLike[str] | None = None,
        token: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> KubeClient:
        """A client for an API server this run started (a client certificate or a bearer token)."""
        configuration = k8s.Configuration()
        configuration.host = server
        configuration.retries = 0  # bootstrap waits poll on their own; no urllib3 retry warnings
        configuration.ssl_ca_cert = str(ca_cert)
        if cert_file is not None and key_file is not None:
            configuration.cert_file, configuration.key_file = str(cert_file), str(key_file)
        if token:
            configuration.api_key = {"authorization": f"Bearer {token}"}
        return cls(k8s.ApiClient(configuration), timeout_s=timeout_s, where=server)

    def close(self) -> None:
        self.api_client.close()

    # -- the record of every request ---------------------------------------------------------------
    def _record_requests(self) -> None:
        """Wrap the REST layer (below every typed call and watch): record method + path, bound the call."""
        rest = self.api_client.rest_client
        send = rest.request

        def request(*args: Any, **kwargs: Any) -> Any:
            method = str(kwargs.get("method", args[0] if args else "")).upper()
            url = str(kwargs.get("url", args[1] if len(args) > 1 else ""))
            parts = urlsplit(url)
            self._record(ApiCall(method, parts.path + (f"?{parts.query}" if parts.query else "")))
            if kwargs.get("_request_timeout") is None:
                kwargs["_request_timeout"] = self.timeout_s
            return send(*args, **kwargs)

        rest.request = request  # type: ignore[method-assign]  # the one hook below every call and watch

    def _record(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)
            if self._log:
                with open(self._log, "a", encoding="utf-8") as log:
                    log.write(f"{call}\n")

    def writes(self) -> list[ApiCall]:
        return [c for c in self.calls if c.writes]

    # -- typed API access --------------------------------------------------------------------------
    def api(self, api_version: str) -> Any:
        """The typed API object for ``api_version`` (``CoreV1Api`` for ``v1``)."""
        if api_version not in self._apis:
            self._apis[api_version] = getattr(k8s, api_class_name(api_version))(self.api_client)
        return self._apis[api_version]

    def _method(
        self, verb: str, kind: str, namespace: str | None, *, api_version: str = ""
    ) -> tuple[Any, tuple]:
        version = api_version or API_VERSIONS.get(kind)
        if version is None:
            raise ToolError(f"the package does not know the Kubernetes kind {kind}")
        api = self.api(version)
        if kind in _CLUSTER_SCOPED:
            return getattr(api, f"{verb}_{snake(kind)}"), ()
        if namespace is None and verb == "list":
            return getattr(api, f"list_{snake(kind)}_for_all_namespaces"), ()
        return getattr(api, f"{verb}_namespaced_{snake(kind)}"), (namespace,)

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            response = method(*args, _preload_content=False, **kwargs)
            data = response.data
        except ApiException as exc:
            raise ToolError(f"{what} failed: {error_line(exc)}", where=self.where) from None
        except ValueError as exc:  # the client's own validation of the arguments (before any request)
            raise ToolError(f"{what}: {_first_line(exc)}", where=self.where) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ToolError(
                f"{what}: the API server did not answer ({type(exc).__name__})", where=self.where
            ) from None
        return json.loads(data) if data else {}

    # -- reads -------------------------------------------------------------------------------------
    def list_objects(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Every ``kind`` in ``namespace`` (all namespaces when None), as dicts with kind/apiVersion set."""
        method, args = self._method("list", kind, namespace)
        kwargs: dict[str, Any] = {"label_selector": label_selector} if label_selector else {}
        if timeout is not None:
            kwargs["_request_timeout"] = timeout
        listing = self._call(f"list {kind}", method, *args, **kwargs)
        items = listing.get("items") or []
        for item in items:
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", API_VERSIONS[kind])
        return items

    def list_kinds(
        self, kinds: tuple[str, ...], namespace: str, *, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        return [item for kind in kinds for item in self.list_objects(kind, namespace, timeout=timeout)]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        method, args = self._method("read", kind, namespace)
        try:
            response = method(name, *args, _preload_content=False)
            obj = json.loads(response.data)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ToolError(f"read {kind}/{name} failed: {error_line(exc)}", where=self.where) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ToolError(
                f"read {kind}/{name}: the API server did not answer ({type(exc).__name__})", where=self.where
            ) from None
        obj.setdefault("kind", kind)
        return obj

    def ready(self, path: str = "/readyz") -> bool:
        """The API server answers ``path`` (a health endpoint, no typed method) with 2xx."""
        url = f"{self.api_client.configuration.host}{path}"
        try:
            response = self.api_client.rest_client.request(
                "GET", url, headers={"Accept": "text/plain"}, _request_timeout=5
            )
        except (ApiException, urllib3.exceptions.HTTPError, OSError):
            return False
        return 200 <= int(response.status) < 300

    def pod_log(self, name: str, namespace: str, *, container: str = "", timeout: float | None = None) -> str:
        """The log of a pod's container (its only one when ``container`` is empty), as text."""
        kwargs: dict[str, Any] = {"container": container} if container else {}
        if timeout is not None:
            kwargs["_request_timeout"] = timeout
        what = f"read the log of pod {namespace}/{name}"
        try:
            response = self.api("v1").read_namespaced_pod_log(
                name, namespace, _preload_content=False, **kwargs
            )
        except ApiException as exc:
            raise ToolError(f"{what} failed: {error_line(exc)}", where=self.where) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ToolError(
                f"{what}: the API server did not answer ({type(exc).__name__})", where=self.where
            ) from None
        return bytes(response.data or b"").decode("utf-8", errors="replace")

    def server_version(self) -> str:
        info = self._call("read the server version", k8s.VersionApi(self.api_client).get_code)
        return str(info.get("gitVersion", "unknown"))

    # -- writes (never in the audit) ---------------------------------------------------------------
    def create(
        self, body: dict[str, Any], namespace: str | None = None, *, exist_ok: bool = False
    ) -> dict[str, Any]:
        kind = str(body.get("kind", ""))
        name = (body.get("metadata") or {}).get("name", "")
        ns = namespace or (body.get("metadata") or {}).get("namespace") or None
        method, args = self._method("create", kind, ns, api_version=str(body.get("apiVersion", "")))
        try:
            response = method(*args, body, _preload_content=False)
            return json.loads(response.data or b"{}")
        except ApiException as exc:
            if exist_ok and exc.status == 409:
                return body
            raise ToolError(f"create {kind}/{name} failed: {error_line(exc)}", where=self.where) from None
        except ValueError as exc:  # the client validates a body against its model before sending it
            raise ToolError(
                f"create {kind}/{name}: not a valid {kind}: {_first_line(exc)}", where=self.where
            ) from None

    def create_missing(self, bodies: Iterable[dict[str, Any]]) -> list[str]:
        """Create each object of a manifest unless it exists (``kind/name`` of those created, in order).

        What ``kubectl apply -f`` does for a pinned manifest on a cluster that either lacks its objects or
        got them from this same manifest; objects are never changed, so a hand edit survives a rerun."""
        created = []
        for body in bodies:
            answer = self.create(body, exist_ok=True)
            if answer is not body:  # create() hands the body back when the object already existed
                created.append(f"{body.get('kind')}/{(body.get('metadata') or {}).get('name', '')}")
        return created

    def patch(
        self, kind: str, name: str, body: dict[str, Any], namespace: str | None = None, *, merge: bool = False
    ) -> dict[str, Any]:
        """A strategic merge patch (containers merge by name), or a JSON merge patch with ``merge``."""
        method, args = self._method("patch", kind, namespace)
        content_type = "application/merge-patch+json" if merge else "application/strategic-merge-patch+json"
        return self._call(f"patch {kind}/{name}", method, name, *args, body, _content_type=content_type)

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete (background propagation); False when it was already gone."""
        method, args = self._method("delete", kind, namespace)
        try:
            method(name, *args, _preload_content=False, propagation_policy="Background")
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise ToolError(f"delete {kind}/{name} failed: {error_line(exc)}", where=self.where) from None
        return True

    def create_token(self, account: str, namespace: str, expiration_s: int) -> str:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": expiration_s},
        }
        created = self._call(
            f"request a token for ServiceAccount {namespace}/{account}",
            self.api("v1").create_namespaced_service_account_token,
            account,
            namespace,
            body,
        )
        return str(created["status"]["token"])

    # -- watches -----------------------------------------------------------------------------------
    def watch(self, kind: str, namespace: str, on_event: Callable[[str, dict[str, Any]], None]) -> Watch:
        return Watch(self, kind, namespace, on_event)

    def wait_gone(self, kind: str, names: list[str], namespace: str | None, timeout_s: float) -> list[str]:
        """Poll (bounded) until none of ``names`` exists; returns those still there at the deadline.

        A failed read ends the wait with its ToolError at once (the caller says what is left)."""
        left = list(names)
        failed: list[ToolError] = []

        def gone() -> bool:
            nonlocal left
            try:
                left = [n for n in left if self.get(kind, n, namespace) is not None]
            except ToolError as exc:
                failed.append(exc)
                return True
            return not left

        if left:
            try:
                wait_for(f"{kind} {', '.join(left)} gone", gone, timeout=timeout_s, interval=1.0)
            except ToolError:
                pass  # the deadline: what is left is the answer
        if failed:
            raise failed[0]
        return left


@dataclass
class Watch:
    """A ``kubernetes.watch`` stream of one kind in one namespace, read on a thread of its own.

    The stream starts with the current objects as ADDED events, then every change, so nothing created after
    :meth:`start` is missed. ``on_event(type, object)`` runs on the reader thread. Use as a context manager:
    leaving it stops the watch (its socket is shut down, so the thread ends at once).
    """

    kube: KubeClient
    kind: str
    namespace: str
    on_event: Callable[[str, dict[str, Any]], None]
    error: str = ""
    _watch: k8s_watch.Watch = field(default_factory=k8s_watch.Watch, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _seen: set[str] = field(default_factory=set, repr=False)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _done: bool = False
    _stopping: bool = False

    @property
    def resource(self) -> str:
        return self.kind

    @property
    def ended(self) -> bool:
        """The stream stopped on its own (an error, or the server went away) after :meth:`start`."""
        return self._thread is not None and self._done

    def start(self) -> Watch:
        self._thread = threading.Thread(target=self._read, name=f"watch {self.kind}", daemon=True)
        self._thread.start()
        return self

    def _events(self) -> Iterator[dict[str, Any]]:
        """The stream, resumed from the last resourceVersion when the server ends it (its watch timeout)."""
        method, args = self.kube._method("list", self.kind, self.namespace)

        def list_objects(**kwargs: Any) -> Any:  # no docstring: the watch leaves objects as dicts
            return method(*args, **kwargs)

        version: str | None = None
        while not self._stopping:
            kwargs: dict[str, Any] = {"_request_timeout": (WATCH_CONNECT_TIMEOUT_S, WATCH_IDLE_S)}
            if version is not None:
                kwargs["resource_version"] = version
            try:
                for event in self._watch.stream(list_objects, **kwargs):
                    obj = event.get("raw_object") or event.get("object") or {}
                    if isinstance(obj, dict):
                        version = (obj.get("metadata") or {}).get("resourceVersion") or version
                        yield {"type": event.get("type", ""), "object": obj}
                    if self._stopping:
                        return
            except urllib3.exceptions.ReadTimeoutError:
                continue  # quiet for WATCH_IDLE_S: reopen from where it was

    def _read(self) -> None:
        try:
            for event in self._events():
                obj = event["object"]
                if event["type"] == "BOOKMARK":
                    continue
                obj.setdefault("kind", self.kind)
                with self._changed:
                    self._seen.add(str((obj.get("metadata") or {}).get("name", "")))
                    self.on_event(str(event["type"]), obj)
                    self._changed.notify_all()
        except Exception as exc:  # any end of the stream is reported as the watch's error
            if not self._stopping:
                self.error = error_line(exc)
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def wait_seen(self, names: set[str], timeout: float) -> bool:
        """Block until the initial list delivered every name in ``names`` (the watch is in sync)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not names <= self._seen:
                left = deadline - time.monotonic()
                if left <= 0 or self._done:
                    return names <= self._seen
                self._changed.wait(left)
        return True

    def stop(self) -> None:
        """Stop reading; repeated, because a stream that was just opening resets the client's stop flag."""
        self._stopping = True
        deadline = time.monotonic() + 5
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < deadline:
            self._watch.stop()
            self._thread.join(timeout=0.2)

    def __enter__(self) -> Watch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
