"""Headless Chromium driven over the DevTools protocol: open a page, read its DOM and layout, screenshot it.

Only loopback: the browser listens on 127.0.0.1, every network feature that could reach out is off, and
the profile is a fresh directory. The browser is stopped by its own process id.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from quickmeet_conformance.clusters.processes import wait_for
from quickmeet_conformance.errors import ToolError

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    def __init__(self, profile: Path, *, width: int = 1500, height: int = 1000) -> None:
        self.profile = profile
        self.size = (width, height)
        self.process: subprocess.Popen[bytes] | None = None
        self._ws: Any = None
        self._next_id = 0

    def __enter__(self) -> Chromium:
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("chromium is not installed (scripts/install-report-tools.sh installs it)")
        self.profile.mkdir(parents=True, exist_ok=True)
        log = self.profile / "chromium.log"
        with log.open("wb") as err:
            self.process = subprocess.Popen(
                [
                    binary,
                    *FLAGS,
                    f"--user-data-dir={self.profile / 'profile'}",
                    f"--window-size={self.size[0]},{self.size[1]}",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )  # its helpers share our group id
        ports: list[int] = []

        def listening() -> bool:
            match = re.search(
                r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", log.read_text(errors="replace")
            )
            ports.extend([int(match.group(1))] if match else [])
            return bool(match)

        process = self.process
        try:
            wait_for(
                "chromium's DevTools port",
                listening,
                timeout=START_TIMEOUT_S,
                failure=lambda: None if process.poll() is None else f"exited with {process.returncode}",
                interval=0.1,
            )
        except ToolError:
            self.stop()
            raise RuntimeError(f"chromium did not start: {log.read_text(errors='replace')[-2000:]}") from None
        port = ports[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=CALL_TIMEOUT_S) as response:
            pages = [t for t in json.load(response) if t.get("type") == "page"]
        self._ws = connect(
            pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=CALL_TIMEOUT_S
        ).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.__exit__(None, None, None)
            self._ws = None
        if self.process is None:
            return
        # the browser, then whatever helper it left in the process group it leads (renderers, zygotes)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is None:
                self.process.send_signal(sig)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    continue
            try:
                os.killpg(self.process.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.2)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        call_id = self._next_id
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("method") == method:
                return message.get("params", {})

    def open(self, path: Path) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, target: Path, *, max_height: int = 6000) -> tuple[int, int]:
        """The whole page (up to ``max_height`` pixels) as a PNG; returns its size."""
        metrics = self.call("Page.getLayoutMetrics")["cssContentSize"]
        width, height = int(metrics["width"]), min(int(metrics["height"]), max_height)
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        )
        target.write_bytes(base64.b64decode(shot["data"]))
        return width, height
