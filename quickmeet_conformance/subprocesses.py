"""The one way the package runs a child process to completion: bounded, interruptible, and whole.

Every child starts in a process group of its own (a terminal Ctrl-C reaches only us, and a wrapper script's
own children go with it). A :func:`run` child that is not given time to clean up also dies with us
(PR_SET_PDEATHSIG, even when we are SIGKILLed); :func:`run_async` children rely on the group killer alone.
A timeout or an interrupt (Ctrl-C, SIGTERM raised as KeyboardInterrupt, an asyncio cancellation) ends the whole group:
SIGTERM first when the child cleans up after itself (``grace_s``), then SIGKILL. Errors are one line, passed
through ``redact`` (helm quotes values, a credential among them).

Long-running servers (a cluster's control plane) are ``clusters.processes.ManagedProcess``, on the same
group killer.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from .errors import ToolError

_PR_SET_PDEATHSIG = 1

# Resolved once here: dlopen() in a forked child of a threaded parent can deadlock.
_prctl: Any
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux/glibc: the other safety nets remain
    _prctl = None


def die_with_parent() -> None:
    """``preexec_fn``: the kernel SIGKILLs the child when its parent dies (runs between fork and exec)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group ``pid`` leads (a child started here) and everything it spawned."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def last_line(text: str, limit: int = 400) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


def _end(child: subprocess.Popen[Any], grace_s: float) -> None:
    """SIGTERM the group and wait ``grace_s`` for the child's own teardown, then SIGKILL what is left."""
    if grace_s > 0 and child.poll() is None:
        kill_group(child.pid, signal.SIGTERM)
        try:
            child.communicate(timeout=grace_s)
        except BaseException:  # a second interrupt or the grace ran out: kill
            pass
    kill_group(child.pid)
    try:
        child.communicate(timeout=5)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        child.wait()


def run(
    argv: Sequence[str],
    *,
    timeout_s: float,
    input: str | None = None,
    grace_s: float = 0.0,
    what: str = "",
    check: bool = False,
    redact: Callable[[str], str] = lambda text: text,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion, capturing text output.

    Past ``timeout_s`` (or interrupted) the group is ended (see :func:`_end`); a timeout then raises
    ``subprocess.TimeoutExpired``, or, when ``what`` names the step, a one-line ToolError. With ``check`` a
    non-zero exit raises a ToolError naming ``what`` and the last (redacted) line of stderr.
    """
    command = [str(part) for part in argv]
    name = what or os.path.basename(command[0])
    try:
        child = subprocess.Popen(  # argv is built by the package, never a shell
            command,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
            preexec_fn=None if grace_s > 0 else die_with_parent,
            cwd=cwd,
            env=env,
        )
    except OSError as exc:
        raise ToolError(f"cannot run {name}: {exc.strerror or exc}", where=command[0]) from None
    with child:
        try:
            stdout, stderr = child.communicate(input, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _end(child, grace_s)
            if what:
                raise ToolError(f"{what} took more than {timeout_s:g}s") from None
            raise
        except BaseException:
            _end(child, grace_s)
            raise
    result = subprocess.CompletedProcess(command, child.returncode, stdout, stderr)
    if check and result.returncode != 0:
        reason = redact(last_line(stderr) or last_line(stdout)) or f"exit {result.returncode}"
        raise ToolError(f"{name} failed: {reason}")
    return result


async def run_async(argv: Sequence[str], input: bytes | None = None) -> tuple[int, bytes, bytes]:
    """:func:`run` for asyncio callers (helm through pyhelm3): the bound is the caller's ``wait_for``, and a
    cancellation (that timeout, or an interrupt) kills the whole group before it propagates."""
    command = [str(part) for part in argv]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        # no preexec_fn here: it forces a slow fork() inside the event loop, and an interrupt landing while
        # asyncio still connects the pipes leaves a transport that never finishes (a hang seen under load)
    )
    try:
        stdout, stderr = await proc.communicate(input)
    except BaseException:  # cancelled by a timeout, or interrupted: leave nothing running
        kill_group(proc.pid)
        await proc.wait()
        raise
    return int(proc.returncode or 0), stdout, stderr
