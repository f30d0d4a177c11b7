"""Local server processes for a cluster provider: start in their own process group, log to a file,
stop by PID, and never outlive the Python process that started them.

Children get their own process group so a terminal Ctrl-C reaches only us; we then stop them in
order. Three safety nets cover the exits we do not control: SIGINT/SIGTERM handlers, ``atexit``,
and PR_SET_PDEATHSIG (the kernel sends SIGKILL to a child whose parent dies, even on SIGKILL).
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.subprocesses import die_with_parent, kill_group


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_loopback_ports(count: int) -> list[int]:
    """``count`` distinct free ports: all sockets are held open together so no port repeats."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Live (non-zombie) processes, other than this one, whose command line contains ``text``: the leak
    check after a run (give each run a private TMPDIR and look for processes that still mention it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append((int(entry.name), cmdline[:200]))
    return found


def tail(path: Path, lines: int = 8) -> str:
    """The last ``lines`` lines of a log file, joined with `` | `` so they fit in one error line."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(empty log)"


@dataclass
class ManagedProcess:
    """One server process: its own process group, stdout+stderr in ``log``."""

    name: str
    argv: Sequence[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str] | None = None) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(  # argv is built by the provider, never a shell
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # only calls prctl
                env=env,
                close_fds=True,
            )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def exit_code(self) -> int | None:
        """None while running (or never started), else the exit status."""
        return self.popen.poll() if self.popen else None

    def failure(self) -> str | None:
        """A one-line reason if the process has exited, for waits that should stop early."""
        code = self.exit_code()
        if code is None:
            return None
        return f"{self.name} exited with status {code}; last log lines ({self.log}): {tail(self.log)}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group (its id is this PID), SIGKILL after ``timeout``; idempotent."""
        if self.popen is None or self.popen.returncode is not None:
            return
        pid = self.popen.pid
        for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            kill_group(pid, sig)
            try:
                self.popen.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        # A server may leave helpers in its group after it exits; they must not outlive it.
        kill_group(pid)


def wait_for(
    what: str,
    ready: Callable[[], bool],
    *,
    timeout: float,
    failure: Callable[[], str | None] = lambda: None,
    interval: float = 0.25,
) -> float:
    """Poll ``ready`` until true and return how many seconds that took; raise ToolError at the deadline (with
    the last error ``ready`` raised) or as soon as ``failure`` names a reason. ``interval`` is only the poll's
    period: the condition and the deadline decide."""
    start = time.monotonic()
    deadline = start + timeout
    last_error = ""
    while True:
        reason = failure()
        if reason:
            raise ToolError(f"{what}: {reason}")
        try:
            if ready():
                return time.monotonic() - start
        except Exception as exc:  # a not-yet-ready server raises all sorts; keep the last one
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            detail = f"; last error: {last_error}" if last_error else ""
            raise ToolError(f"{what}: not ready after {timeout:.1f}s{detail}")
        time.sleep(interval)


class Stoppable(Protocol):
    def stop(self) -> None: ...


class _ShutdownGuard:
    """Stops registered providers at interpreter exit and on SIGINT/SIGTERM, then lets the signal act.

    Process-wide by nature (signal handlers and atexit are), so this is the one module-level object.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: list[Stoppable] = []
        self._atexit_registered = False
        self._signals_installed = False
        self._previous: dict[int, object] = {}

    def register(self, owner: Stoppable) -> None:
        with self._lock:
            if owner not in self._live:
                self._live.append(owner)
            self._install()

    def unregister(self, owner: Stoppable) -> None:
        with self._lock:
            if owner in self._live:
                self._live.remove(owner)

    def stop_all(self) -> None:
        with self._lock:
            owners = list(reversed(self._live))
        for owner in owners:
            try:
                owner.stop()
            except Exception:  # shutdown must reach every owner
                pass

    def _install(self) -> None:
        if not self._atexit_registered:
            atexit.register(self.stop_all)
            self._atexit_registered = True
        if self._signals_installed or threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread; atexit + PDEATHSIG remain
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if previous == signal.SIG_IGN:
                continue  # e.g. SIGINT in a background job: the process is meant to ignore it, so do we
            self._previous[sig] = previous
            signal.signal(sig, self._on_signal)
        self._signals_installed = True

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop_all()
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)  # e.g. Python's default SIGINT handler raises KeyboardInterrupt
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


shutdown_guard = _ShutdownGuard()
