"""kubectl, bounded and recorded: one-shot calls with a timeout, and watches that stream events.

Every call runs in a process group of its own (a timeout or an interrupt kills the whole group) and its
argv is recorded, so the audit mode can prove it never sent a write verb.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..clusters.base import find_kubectl
from ..errors import ToolError

DEFAULT_TIMEOUT_S = 30.0

# kubectl subcommands that change the cluster (the audit mode must never send one)
WRITE_VERBS = frozenset({
    "apply", "annotate", "autoscale", "certificate", "cordon", "cp", "create", "delete", "drain", "edit",
    "exec", "expose", "label", "patch", "replace", "rollout", "run", "scale", "set", "taint", "uncordon",
})
# helm subcommands that change the cluster
HELM_WRITE_VERBS = frozenset({"install", "upgrade", "uninstall", "delete", "rollback", "test", "push"})


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Kubectl:
    """kubectl for one cluster identity (kubeconfig + context)."""

    kubeconfig: Path
    context: str = ""
    binary: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    calls: list[tuple[str, ...]] = field(default_factory=list)  # every argv sent (without the global flags)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.binary = self.binary or str(find_kubectl())

    def argv(self, *args: str) -> list[str]:
        base = [self.binary, "--kubeconfig", str(self.kubeconfig)]
        if self.context:
            base += ["--context", self.context]
        return base + list(args)

    def _record(self, args: tuple[str, ...]) -> None:
        with self._lock:
            self.calls.append(args)

    def run(self, *args: str, input: str | None = None, timeout: float | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl ARGS``; a non-zero exit raises ToolError (one line) when ``check``."""
        self._record(args)
        limit = timeout or self.timeout_s
        with subprocess.Popen(
            self.argv(*args), stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
        ) as proc:
            try:
                out, err = proc.communicate(input, timeout=limit)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.communicate()
                raise ToolError(f"'kubectl {' '.join(args[:3])}' took more than {limit:g}s") from None
            except BaseException:
                _kill_group(proc.pid)
                raise
        result = subprocess.CompletedProcess(list(args), proc.returncode, out, err)
        if check and result.returncode != 0:
            raise ToolError(f"kubectl {' '.join(args[:3])} failed: {last_line(err) or f'exit {proc.returncode}'}")
        return result

    def get_json(self, *args: str, timeout: float | None = None) -> dict[str, Any]:
        out = self.run("get", *args, "-o", "json", timeout=timeout).stdout
        return json.loads(out or "{}")

    def watch(self, resource: str, namespace: str, on_event: Callable[[str, dict[str, Any]], None]) -> "Watch":
        return Watch(self, resource, namespace, on_event)


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:400] if lines else ""


class Watch:
    """``kubectl get RESOURCE -n NS -w --output-watch-events -o json`` in the background.

    The initial list arrives as ADDED events, then every change after it, so nothing created after
    :meth:`start` is missed. ``on_event(type, object)`` runs on the reader thread. Use as a context
    manager: leaving it kills kubectl by its process group.
    """

    def __init__(self, kubectl: Kubectl, resource: str, namespace: str,
                 on_event: Callable[[str, dict[str, Any]], None]) -> None:
        self.kubectl = kubectl
        self.resource = resource
        self.namespace = namespace
        self.on_event = on_event
        self.proc: subprocess.Popen[str] | None = None
        self.error = ""
        self._thread: threading.Thread | None = None
        self._seen: set[str] = set()
        self._changed = threading.Condition()

    def start(self) -> "Watch":
        args = ("get", self.resource, "-n", self.namespace, "-w", "--output-watch-events", "-o", "json",
                "--request-timeout=0")
        self.kubectl._record(args)
        self.proc = subprocess.Popen(
            self.kubectl.argv(*args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, errors="replace", start_new_session=True,
        )
        self._thread = threading.Thread(target=self._read, name=f"watch {self.resource}", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        decoder = json.JSONDecoder()
        buffer = ""
        for chunk in self.proc.stdout:
            buffer += chunk
            while True:
                buffer = buffer.lstrip()
                if not buffer:
                    break
                try:
                    event, end = decoder.raw_decode(buffer)
                except ValueError:
                    break  # an incomplete object: read more
                buffer = buffer[end:]
                obj = event.get("object") or {}
                with self._changed:
                    self._seen.add((obj.get("metadata") or {}).get("name", ""))
                    self.on_event(str(event.get("type", "")), obj)
                    self._changed.notify_all()
        if self.proc.stderr is not None:
            self.error = last_line(self.proc.stderr.read())
        with self._changed:
            self._changed.notify_all()

    def wait_seen(self, names: set[str], timeout: float) -> bool:
        """Block until the initial list delivered every name in ``names`` (the watch is in sync)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not names <= self._seen:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc is not None and self.proc.poll() is not None):
                    return names <= self._seen
                self._changed.wait(left)
        return True

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _kill_group(self.proc.pid)
        if self.proc is not None:
            self.proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "Watch":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
