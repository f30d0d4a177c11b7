"""The chart's history as a test bed: the static and upgrade lanes over a range of chart versions.

chart versions (directories, or a repository's versions in a range) + the values each README documents
(one set per era) -> every case of every version, every consecutive upgrade -> the failing findings of each
release -> what each release introduced and removed (text, Markdown).

- ``eras``: the values sets per era (``eras.yaml``) and version ranges
- ``sources``: the chart versions to walk (directories, or ``helm search repo`` + pull)
- ``cache``: renders kept across runs (a released chart never changes)
- ``run``: run the lanes, one renderer and one render batch for every case (both cores busy)
- ``changes``: the per-release diff, and its text and Markdown forms

A maintainer's command (``conformance history``); it composes the static and upgrade lanes and never
imports reports (a history is its own output).
"""

from .cache import RenderCache, default_cache_dir
from .changes import ReleaseChanges, Triage, changes_between, load_triage, markdown_lines, text_lines
from .eras import Era, load_eras, values_for_version
from .run import FindingKey, History, ReleaseRun, run_history
from .sources import ChartSource, directory_sources, repository_sources

__all__ = [
    "ChartSource",
    "Era",
    "FindingKey",
    "History",
    "ReleaseChanges",
    "ReleaseRun",
    "Triage",
    "RenderCache",
    "changes_between",
    "default_cache_dir",
    "load_triage",
    "directory_sources",
    "load_eras",
    "markdown_lines",
    "repository_sources",
    "run_history",
    "text_lines",
    "values_for_version",
]
