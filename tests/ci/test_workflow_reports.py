"""The reports reach the people who read the CI run: in the copyable workflow every lane that writes
reports writes Markdown into the job summary, and SARIF (the upgrade lane included: its plans are what the
summary step is named for)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "conformance.yml"


def _steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["static"]["steps"]


def _written(run: str, flag: str) -> str | None:
    match = re.search(rf'{flag} (?:"([^"]+)"|(\S+))', run)
    return (match.group(1) or match.group(2)) if match else None


def test_upgrade_lane_writes_markdown_into_the_job_summary_and_sarif() -> None:
    steps = _steps()
    upgrade = next(s for s in steps if "suites/upgrade" in str(s.get("run", "")))
    markdown, sarif = _written(upgrade["run"], "--markdown"), _written(upgrade["run"], "--sarif")
    assert markdown and sarif, f"the upgrade lane writes no --markdown or --sarif: {upgrade['run']}"
    after = steps[steps.index(upgrade) + 1 :]
    summary = [s for s in after if "GITHUB_STEP_SUMMARY" in str(s.get("run", ""))]
    assert summary and summary[0].get("if") == "always()" and markdown in summary[0]["run"], (
        f"{markdown} is not appended to the job summary after the upgrade lane"
    )
    uploads = [s for s in steps if "upload-sarif" in str(s.get("uses", ""))]
    assert any(sarif.replace("${{ matrix.helm }}", "helm3") in str(s.get("with")) for s in uploads), uploads


def test_upgrade_lane_runs_when_the_static_lane_failed() -> None:
    """A failing static lane must not hide the upgrade plans (the summary is written either way)."""
    upgrade = next(s for s in _steps() if "suites/upgrade" in str(s.get("run", "")))
    condition = str(upgrade.get("if", ""))
    assert "!cancelled()" in condition and "steps.install" in condition, condition
