"""Render a chart with ``helm template`` into parsed manifests, once per distinct input.

pyhelm3's ``Command.template`` cannot pass ``--kube-version``/``--api-versions``, parses the output
without keeping each document's ``# Source:`` template, and ``Command.run`` has no timeout; this module
builds the command itself and runs helm in a process group of its own (``helm.run_helm``, the
runner the live lane's pyhelm3 commands use too), bounded by ``asyncio.wait_for``: a timeout kills the
whole group, so a hung helm cannot hang the run. Importing pyhelm3 (pydantic models) would cost more
than a render, so the static lane does not.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .chart_reads import RELEASE_STATE
from .charts import Chart
from .errors import RenderError
from .helm import HelmBinary, HelmFailed, run_helm

RENDER_TIMEOUT_S = 120.0
_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class Manifest:
    """One rendered Kubernetes object and the template it came from."""

    api_version: str
    kind: str
    name: str
    namespace: str
    source: str  # chart-relative template path, e.g. "rocketchat/templates/ddp-streamer.yaml"
    body: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""


@dataclass(frozen=True)
class RenderRequest:
    chart: Chart
    values: dict[str, Any] = field(compare=False, hash=False)
    release: str = "rocketchat"
    namespace: str = "default"
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()
    is_upgrade: bool = False
    values_label: str = ""  # the values file name, for error messages
    attempt: int = 0  # a different attempt renders again instead of reusing the cache (catches random output)

    def cache_key(self, helm: HelmBinary) -> tuple:
        """What makes two renders the same. An upgrade render of a chart that never reads the release state
        (``Chart.upgrade_renders_alike``), with values that do not name it either (``tpl``), is the install
        render: it is done once."""
        values = json.dumps(self.values, sort_keys=True, default=str)
        upgrade = self.is_upgrade and not (
            self.chart.upgrade_renders_alike and not RELEASE_STATE.search(values)
        )
        return (
            helm.path,
            str(self.chart.path),
            self.release,
            self.namespace,
            self.kube_version,
            self.api_versions,
            upgrade,
            self.attempt,
            values,
        )


@dataclass(frozen=True)
class Rendered:
    request: RenderRequest
    helm: HelmBinary
    manifests: tuple[Manifest, ...]
    text: str = field(repr=False, default="")

    def find(self, kind: str, name: str | None = None) -> list[Manifest]:
        return [m for m in self.manifests if m.kind == kind and (name is None or m.name == name)]


class _TemplateCommand:
    """``helm template`` through :func:`helm.run_helm` (one helm runner for renders and live installs)."""

    def __init__(self, executable: str) -> None:
        self._executable = executable

    async def run(self, command: list[Any], input: bytes | None = None) -> bytes:
        return await run_helm(self._executable, [str(part) for part in command], input)

    async def template_text(self, request: RenderRequest) -> str:
        command: list[Any] = [
            "template",
            request.release,
            str(request.chart.path),
            "--namespace",
            request.namespace,
            "--skip-tests",
            "--values",
            "-",
        ]
        if request.kube_version:
            command += ["--kube-version", request.kube_version]
        for api in request.api_versions:
            command += ["--api-versions", api]
        if request.is_upgrade:
            command.append("--is-upgrade")
        out = await self.run(command, json.dumps(request.values, default=str).encode())
        return out.decode("utf-8", errors="replace")


def _helm_error_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    errors = [i for i, ln in enumerate(lines) if ln.lower().startswith("error")]
    if not lines:
        return "helm failed without a message"
    last = errors[-1] if errors else len(lines) - 1
    line = lines[last]
    if line.endswith(":"):  # a list follows (e.g. each values.schema.json violation): keep it on the line
        line += " " + "; ".join(lines[last + 1 :])
    return line[:500]


def parse_manifests(text: str, where: str) -> tuple[Manifest, ...]:
    manifests = []
    for chunk in _DOC_SPLIT.split(text):
        if not chunk.strip():
            continue
        match = _SOURCE.search(chunk)
        source = match.group(1).strip() if match else ""
        try:
            docs = list(yaml.load_all(chunk, Loader=_Loader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark else ""
            raise RenderError(
                f"the chart rendered invalid YAML in {source or 'a template'}{line}",
                where=where,
                fix="fix that template (run 'helm template --debug' to see the output)",
            ) from None
        for body in docs:
            if body is None:
                continue
            if not isinstance(body, dict) or "kind" not in body:
                raise RenderError(
                    f"{source or 'a template'} rendered a document that is not a Kubernetes object",
                    where=where,
                )
            meta = body.get("metadata") or {}
            manifests.append(
                Manifest(
                    api_version=str(body.get("apiVersion", "")),
                    kind=str(body["kind"]),
                    name=str(meta.get("name", "")),
                    namespace=str(meta.get("namespace") or ""),
                    source=source,
                    body=body,
                )
            )
    return tuple(manifests)


class Renderer:
    """Renders through one helm binary and remembers every result (or failure) for the session."""

    def __init__(self, helm: HelmBinary, *, timeout_s: float = RENDER_TIMEOUT_S, redact=None) -> None:
        self.helm = helm
        self.timeout_s = timeout_s
        self._redact = redact or (lambda text: text)
        self._command = _TemplateCommand(executable=helm.path)
        self._cache: dict[tuple, Rendered | RenderError] = {}
        self._pending: list[_BackgroundRenders] = []
        self.renders = 0  # helm invocations, for benchmarks

    async def _render_one(self, request: RenderRequest) -> Rendered | RenderError:
        where = f"{request.values_label or 'values'} with {request.chart.label}"
        try:
            self.renders += 1
            text = await asyncio.wait_for(self._command.template_text(request), self.timeout_s)
        except asyncio.TimeoutError:
            return RenderError(
                f"'helm template' took more than {self.timeout_s:g}s (helm {self.helm.path})", where=where
            )
        except HelmFailed as exc:
            return RenderError(
                f"helm template failed: {self._redact(_helm_error_line(exc.stderr))}",
                where=where,
                fix="the chart refused these values; see the chart's message",
            )
        except OSError as exc:
            return RenderError(f"cannot run helm: {exc}", where=where)
        try:
            return Rendered(request, self.helm, parse_manifests(text, where), text)
        except RenderError as exc:
            return exc

    async def _render_all(
        self, requests: list[RenderRequest], done: Callable[[int, Rendered | RenderError], None] | None = None
    ) -> list[Rendered | RenderError]:
        """Render ``requests`` concurrently (at most one per core, at least two), in the order given; ``done``
        hears of each result (its index) as soon as it is there, so a caller can use the first render while
        helm still works on the others."""
        gate = asyncio.Semaphore(max(2, os.cpu_count() or 2))

        async def bounded(index: int, request: RenderRequest) -> Rendered | RenderError:
            async with gate:
                result = await self._render_one(request)
            if done is not None:
                done(index, result)
            return result

        return await asyncio.gather(*(bounded(i, r) for i, r in enumerate(requests)))

    def _todo(self, requests: Iterable[RenderRequest]) -> dict[tuple, RenderRequest]:
        self._harvest()
        todo: dict[tuple, RenderRequest] = {}
        for request in requests:
            key = request.cache_key(self.helm)
            if key not in self._cache and self._background(key) is None:  # never started twice
                todo.setdefault(key, request)
        return todo

    def prefetch(self, requests: Iterable[RenderRequest]) -> None:
        """Render every request not yet cached, concurrently; wait for those started in the background too."""
        requests = list(requests)
        todo = self._todo(requests)
        if todo:
            results = asyncio.run(self._render_all(list(todo.values())))
            self._cache.update(zip(todo.keys(), results, strict=True))
        for request in requests:
            key = request.cache_key(self.helm)
            if key not in self._cache:
                self._wait_for(key)

    def start(self, requests: Iterable[RenderRequest]) -> None:
        """Like :meth:`prefetch`, but return at once: helm renders in a background thread while the caller does
        what needs no render (importing and loading the rules); :meth:`render` waits only for the render it
        needs, not for the whole batch."""
        todo = self._todo(requests)
        if todo:
            self._pending.append(_BackgroundRenders(self, todo))

    def _background(self, key: tuple) -> _BackgroundRenders | None:
        return next((batch for batch in self._pending if key in batch.todo), None)

    def _harvest(self) -> None:
        """Take every background result already there (never waits); drop the batches that are complete."""
        for batch in list(self._pending):
            self._cache.update(batch.finished())
            if batch.complete():
                self._pending.remove(batch)

    def _wait_for(self, key: tuple) -> None:
        batch = self._background(key)
        if batch is not None:
            self._cache[key] = batch.wait_for(key)
            self._harvest()

    def cached(self, request: RenderRequest) -> Rendered | RenderError | None:
        """The result already held for ``request`` (None: not rendered yet)."""
        self._harvest()
        return self._cache.get(request.cache_key(self.helm))

    def remember(self, request: RenderRequest, result: Rendered | RenderError) -> None:
        """Hold ``result`` for ``request`` as if helm had just rendered it (a caller's cache across runs)."""
        self._cache[request.cache_key(self.helm)] = result

    def close(self) -> None:
        """Stop renders still running in the background (their helm process groups are killed)."""
        while self._pending:
            self._pending.pop().cancel()

    def render(self, request: RenderRequest) -> Rendered:
        """The rendered manifests; raises RenderError (one line) when helm or the chart refuses."""
        key = request.cache_key(self.helm)
        if key not in self._cache:
            self._wait_for(key)
        if key not in self._cache:
            self.prefetch([request])
        result = self._cache[key]
        if isinstance(result, RenderError):
            raise result
        return result


class _BackgroundRenders:
    """Renders running on an event loop in a thread of their own; each result is handed over as soon as helm is
    done with it. Waiting is interruptible: Ctrl-C or SIGTERM (a KeyboardInterrupt in the main thread) cancels
    them, which kills their helm process groups, then re-raises."""

    def __init__(self, renderer: Renderer, todo: dict[tuple, RenderRequest]) -> None:
        self.todo = todo
        self._keys = list(todo)
        self._renderer = renderer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._done: dict[tuple, Rendered | RenderError] = {}
        self._taken: set[tuple] = set()
        self._error: BaseException | None = None
        self._lock = threading.Condition()  # notified as each result arrives
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qmc-render", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        def done(index: int, result: Rendered | RenderError) -> None:
            with self._lock:
                self._done[self._keys[index]] = result
                self._lock.notify_all()

        async def main() -> list[Rendered | RenderError]:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            self._started.set()
            return await self._renderer._render_all(list(self.todo.values()), done)

        try:
            asyncio.run(main())
        except BaseException as exc:  # cancelled by an interrupt: handed to the waiting thread
            self._error = exc
        finally:
            self._started.set()
            with self._lock:
                self._lock.notify_all()

    def finished(self) -> dict[tuple, Rendered | RenderError]:
        """The results there now that were not handed over yet."""
        with self._lock:
            new = {k: v for k, v in self._done.items() if k not in self._taken}
            self._taken.update(new)
        return new

    def complete(self) -> bool:
        with self._lock:
            return len(self._taken) == len(self._keys)

    def wait_for(self, key: tuple) -> Rendered | RenderError:
        """The result for ``key``, as soon as helm has it."""
        try:
            with self._lock:
                while key not in self._done:
                    if not self._thread.is_alive():
                        raise self._error or RuntimeError("background renders ended without results")
                    self._lock.wait(0.05)  # short waits: a signal reaches the main thread while it waits
                return self._done[key]
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        self._started.wait(5)
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed meanwhile: nothing left to stop
                pass
        self._thread.join(30)
