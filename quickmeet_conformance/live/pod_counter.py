"""Counting, from a pod watch, how many pods of one component exist at once (the stream-hub singleton check)."""

from __future__ import annotations

import threading
import time
from typing import Any

from ..topology import ComponentMatcher
from .state import PodTimeline

STOPPED_PHASES = ("Succeeded", "Failed")  # every container has terminated and none will restart


class PodCounter:
    """Counts, from a pod watch, how many pods of one component run at once: terminating ones included until
    their containers have stopped (phase Succeeded or Failed) or the pod is deleted. A Recreate rollout
    starts the new pod once the old one has stopped, while the old object may linger for a moment."""

    def __init__(self, component: str, matcher: ComponentMatcher) -> None:
        self.component = component
        self.matcher = matcher
        self.start = time.monotonic()
        self.existing: dict[str, str] = {}  # pod name -> component
        self.initial: set[str] = set()
        self.added: set[str] = set()
        self.synced = False
        self.peak = 0
        self.peak_pods: tuple[str, ...] = ()
        self.timeline: list[str] = []
        self.points: list[tuple[float, int, str, str]] = []
        self._lock = threading.Lock()

    def mark_synced(self) -> None:
        with self._lock:
            self.synced = True
            self.initial = {n for n, c in self.existing.items() if c == self.component}
            # the chart starts here: what the initial listing added is the count at this point
            self.points = [(time.monotonic() - self.start, self.count(), "WATCHING", "")]

    def on_event(self, kind: str, pod: dict[str, Any]) -> None:
        name = str((pod.get("metadata") or {}).get("name", ""))
        with self._lock:
            before = self.count()
            if kind != "DELETED" and (pod.get("status") or {}).get("phase") in STOPPED_PHASES:
                kind = "STOPPED"
            if kind in ("DELETED", "STOPPED"):
                component = self.existing.pop(name, None)
            else:
                component = self.matcher.component_of_pod(pod)
                if name not in self.existing and self.synced and component == self.component:
                    self.added.add(name)
                self.existing[name] = component or ""
            if component != self.component:
                return
            now = self.count()
            terminating = " terminating" if (pod.get("metadata") or {}).get("deletionTimestamp") else ""
            if kind != "MODIFIED" or now != before:
                elapsed = time.monotonic() - self.start
                self.timeline.append(f"+{elapsed:6.2f}s {kind:<8} {name}{terminating} ({now} exist)")
                marked = " (terminating)" if terminating and kind not in ("DELETED", "STOPPED") else ""
                self.points.append((elapsed, now, kind + marked, name))
            if now > self.peak:
                self.peak = now
                self.peak_pods = tuple(sorted(n for n, c in self.existing.items() if c == self.component))

    def count(self) -> int:
        return sum(1 for c in self.existing.values() if c == self.component)

    def result(self, description: str) -> PodTimeline:
        with self._lock:
            return PodTimeline(
                self.component,
                self.peak,
                self.peak_pods,
                tuple(self.timeline),
                bool(self.added),
                description,
                tuple(self.points),
            )
