"""The GitHub Actions workflow chart maintainers copy: it lints clean with actionlint, it has the lanes the
guide promises, and every framework option it passes exists (it cannot run here: no GitHub, no Docker)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "conformance.yml"
ACTIONLINT = REPO / ".tools" / "bin" / "actionlint"


def _actionlint(path: Path) -> subprocess.CompletedProcess:
    if not ACTIONLINT.exists():
        pytest.fail("actionlint is not built: run scripts/install-actionlint.sh", pytrace=False)
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", str(path)], capture_output=True, text=True, timeout=60
    )


def test_workflow_passes_actionlint():
    result = _actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    text = WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04", 1)
    text = text.replace("${{ matrix.helm }}", "${{ matrix.helmm }}", 1)
    broken.write_text(text)
    result = _actionlint(broken)
    assert result.returncode != 0 and "helmm" in result.stdout


def test_workflow_has_the_promised_lanes():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert jobs["static"]["strategy"]["matrix"]["helm"] == ["helm3", "helm4"]
    assert "--cluster kwok" in str(jobs["kwok"]["steps"])
    assert "--cluster kind" in str(jobs["kind"]["steps"]) and jobs["kind"]["strategy"]["matrix"]["values"]
    for name, job in jobs.items():
        assert job.get("timeout-minutes"), f"job {name} has no timeout"
        assert "--junitxml" in str(job["steps"]), f"job {name} publishes no JUnit"


def test_every_option_the_workflow_passes_exists():
    help_text = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    used = set(
        re.findall(
            r"(--[a-z][a-z-]+)",
            "\n".join(
                str(step.get("run", ""))
                for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values()
                for step in job["steps"]
            ),
        )
    )
    used -= {"--no-run"}  # scripts/install.sh's own flag
    aliases = {"--junitxml": "--junit-xml"}  # pytest lists only the dashed spelling
    missing = sorted(
        flag for flag in used if flag not in help_text and aliases.get(flag, flag) not in help_text
    )
    assert not missing, f"the workflow passes options pytest does not know: {missing}"


def test_scripts_it_runs_exist_and_are_executable():
    for script in ("scripts/install.sh",):
        path = REPO / script
        assert path.exists() and shutil.os.access(path, shutil.os.X_OK), script


def test_workflow_shows_the_markdown_report_in_the_job_summary():
    """The static and KWOK jobs write --markdown and append it to $GITHUB_STEP_SUMMARY, even on failure."""
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name in ("static", "kwok"):
        runs = [step for step in jobs[name]["steps"] if "run" in step]
        written = re.findall(r"--markdown \"?([^\s\"]+)", "\n".join(step["run"] for step in runs))
        assert written, f"job {name} writes no --markdown report"
        summary = [step for step in runs if "GITHUB_STEP_SUMMARY" in step["run"]]
        assert summary and summary[0].get("if") == "always()", (
            f"job {name} does not always append its summary"
        )
        assert written[0] in summary[0]["run"], f"job {name} appends another file than {written[0]}"
