"""The chart's history as the test bed: every finding the static and upgrade lanes give on the fifteen released
charts (their defaults, the values each README documents, every consecutive upgrade) is triaged true in
fixtures/history/triage.yaml with its reason, none is false, and docs/chart-history.md is what the command
prints today (regenerate with scripts/chart-history.sh after a rule changes)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from upstream_charts import REPO, UPSTREAM_DIR

from quickmeet_conformance.history import (
    changes_between,
    directory_sources,
    load_eras,
    load_triage,
    markdown_lines,
    run_history,
)
from quickmeet_conformance.history.changes import verdict_of

HISTORY = REPO / "fixtures" / "history"
DOC = REPO / "docs" / "chart-history.md"
VERSIONS = 15


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("history-renders")


@pytest.fixture
def history(helm, cache_dir, tmp_path):
    dirs = sorted(str(p) for p in UPSTREAM_DIR.glob("rocketchat-*") if (p / "Chart.yaml").is_file())
    if len(dirs) != VERSIONS:
        pytest.skip(f"the {VERSIONS} public charts are not at {UPSTREAM_DIR} (found {len(dirs)})")
    return run_history(directory_sources(dirs), load_eras(HISTORY), helm, tmp_path, cache_dir=cache_dir)


def test_every_finding_is_triaged_true(history, helm):
    triage = load_triage(HISTORY / "triage.yaml")
    untriaged, false = [], []
    for release in history.releases:
        assert not [e for e in release.input_errors if not e.startswith("upgrade defaults")], (
            release.input_errors
        )
        for key, message in release.findings.items():
            verdict = verdict_of(triage, key, release.source.version)
            if verdict is None:
                untriaged.append(f"{release.source.version} {key.case} {key.rule}: {message[:200]}")
            elif not verdict.true:
                false.append(f"{release.source.version} {key.case} {key.rule}: {verdict.reason}")
    assert not untriaged, (
        f"findings on released charts ({helm.label}) that fixtures/history/triage.yaml does not explain (triage "
        "each: true with the reason, or fix the rule):\n" + "\n".join(untriaged)
    )
    assert not false, "findings triaged false (tool defects) are back:\n" + "\n".join(false)


def test_unused_triage_entries_are_reported(history):
    """A triage entry that matches nothing is stale: the finding it explained is gone."""
    triage = load_triage(HISTORY / "triage.yaml")
    used = {id(verdict_of(triage, key, r.source.version)) for r in history.releases for key in r.findings}
    stale = [f"{t.rule} ({', '.join(t.cases)})" for t in triage if id(t) not in used]
    assert not stale, f"triage entries that match no finding any more: {stale}"


def test_committed_doc_is_current(history, helm):
    triage = load_triage(HISTORY / "triage.yaml")
    printed = "\n".join(markdown_lines(changes_between(history), triage)) + "\n"
    assert DOC.read_text(encoding="utf-8") == printed, (
        f"docs/chart-history.md is not what 'conformance history' prints with {helm.label}: run "
        "scripts/chart-history.sh and commit the result (the diff is what the rules now say differently)"
    )


def test_regeneration_is_one_command():
    script = REPO / "scripts" / "chart-history.sh"
    assert script.is_file() and os.stat(script).st_mode & stat.S_IXUSR, script
    assert "--format markdown" in script.read_text() and "docs/chart-history.md" in script.read_text()
