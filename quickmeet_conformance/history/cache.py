"""Renders kept across runs of ``conformance history``: a released chart never changes, so a maintainer who
re-runs the history after changing a rule re-renders only what is new.

Keyed by the helm binary's version, a digest of the chart directory's files and the render request (values,
release, namespace, Kubernetes version, --is-upgrade, attempt): any change renders again. Each entry is a
pickle of the parsed manifests and helm's text (or the one-line refusal), written by this tool only.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

from ..charts import Chart
from ..errors import RenderError
from ..render import Rendered, Renderer, RenderRequest

FORMAT = 1  # bump when what is stored changes


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "quickmeet-conformance" / "renders"


def chart_digest(chart: Chart) -> str:
    """sha256 over the chart directory's files (relative path and content)."""
    digest = hashlib.sha256()
    root = chart.path
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class RenderCache:
    def __init__(self, directory: Path, helm_version: str) -> None:
        self.directory = directory
        self.helm_version = helm_version
        self._digests: dict[Path, str] = {}
        self.hits = 0

    def _key(self, request: RenderRequest) -> str:
        chart = request.chart
        if chart.path not in self._digests:
            self._digests[chart.path] = chart_digest(chart)
        material = json.dumps(
            [
                FORMAT,
                self.helm_version,
                self._digests[chart.path],
                request.release,
                request.namespace,
                request.kube_version,
                list(request.api_versions),
                request.is_upgrade,
                request.attempt,
                request.values,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def load(self, renderer: Renderer, requests: list[RenderRequest]) -> None:
        """Hand the renderer every stored result of ``requests`` (a missing or unreadable entry: render it)."""
        for request in requests:
            if renderer.cached(request) is not None:
                continue  # rendered earlier in this run
            path = self.directory / f"{self._key(request)}.pickle"
            try:
                manifests, text, refusal = pickle.loads(path.read_bytes())  # our own file (see module doc)
            except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
                continue
            result = (
                RenderError(refusal[0], where=refusal[1], fix=refusal[2])
                if refusal
                else Rendered(request, renderer.helm, manifests, text)
            )
            renderer.remember(request, result)
            self.hits += 1

    def save(self, renderer: Renderer, requests: list[RenderRequest]) -> None:
        """Store what the renderer holds for ``requests`` (best effort: a read-only home only costs speed)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        for request in requests:
            result = renderer.cached(request)
            if result is None:
                continue
            path = self.directory / f"{self._key(request)}.pickle"
            if path.exists():
                continue
            entry: tuple[tuple, str, tuple[str, str, str] | None]
            if isinstance(result, RenderError):
                entry = ((), "", (result.what, result.where, result.fix))
            else:
                entry = (result.manifests, result.text, None)
            try:
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
                tmp.replace(path)
            except OSError:
                return
