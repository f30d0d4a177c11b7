"""The shapes customers plug the checker into, each tried for real: the pre-commit hook (``pre-commit try-repo``
on a sample repository with a good and a bad values file) and the reusable GitHub Action (``action.yml``,
checked by actionlint through a workflow that uses it); the copyable workflow passes the maintainer's values
to every job.

pre-commit builds the hook's environment from PyPI in a temporary store (try-repo never reuses one; pip's cache
makes the downloads a one-off).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / ".tools" / "bin" / "helm3"
ACTIONLINT = REPO / ".tools" / "bin" / "actionlint"
WORKFLOW = REPO / ".github" / "workflows" / "conformance.yml"

GOOD = (REPO / "fixtures" / "values" / "microservices-scaled.yaml").read_text()
BAD = "microservices:\n  enabled: true\n  ddpStreamers:\n    replicas: 2\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _pre_commit() -> str:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail(
            "pre-commit is not installed: pip install -e '.[dev]' (scripts/install.sh)", pytrace=False
        )
    return found


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "deploy"
    repo.mkdir()
    (repo / "values-good.yaml").write_text(GOOD)
    (repo / "values-bad.yaml").write_text(BAD)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "values")
    return repo


def _try_repo(sample: Path, *files: str) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail("helm is not installed: run scripts/install-helm.sh", pytrace=False)
    tools = sample.parent / "tools"
    tools.mkdir(exist_ok=True)
    if not (tools / "helm").exists():
        (tools / "helm").symlink_to(HELM)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMC_", "HELM_BIN", "PYTEST_"))}
    env["PATH"] = (
        f"{tools}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    )
    return subprocess.run(
        [_pre_commit(), "try-repo", str(REPO), "quickmeet-conformance", "--files", *files],
        cwd=sample,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


def test_pre_commit_hook_passes_a_good_file_and_fails_a_bad_one(sample_repo: Path) -> None:
    """One try-repo run (each builds the hook's environment afresh in a temporary store) over both files: the
    bad one fails with its key's line, the good one's case has no failing rule."""
    run = _try_repo(sample_repo, "values-bad.yaml", "values-good.yaml")
    output = run.stdout + run.stderr
    if "An unexpected error has occurred" in output:
        pytest.fail(f"pre-commit could not build the hook environment:\n{output[-2000:]}", pytrace=False)
    assert run.returncode == 1 and "Failed" in run.stdout, output
    assert "ddpStreamers" in run.stdout and "values-bad.yaml:3:3" in run.stdout, output
    assert "result: NOT conformant - 1 of 2 cases" in run.stdout, output
    good = run.stdout.split("values-good.yaml  (", 1)[1].split("\n\n", 1)[0]
    assert "  FAIL" not in good and "  ERROR" not in good, good


def test_hook_definition_runs_conformance_check() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "quickmeet-conformance" and hook["entry"] == "conformance check"
    assert hook["language"] == "python" and hook["pass_filenames"] is True


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    if not ACTIONLINT.exists():  # built by scripts/install.sh (Go); a static-only install has none
        pytest.skip("actionlint is not built: run scripts/install-actionlint.sh")
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=path.parents[2],
        check=False,
    )


def _workflow_using_the_action(tmp_path: Path, inputs: dict[str, str]) -> Path:
    """A workflow in a copy of the action's repository that uses it as ``./``: actionlint then checks the
    action's metadata and every input the workflow passes against it."""
    shutil.copy(REPO / "action.yml", tmp_path / "action.yml")
    _git(tmp_path, "init", "-q")  # actionlint resolves "./" from the repository root
    workflow = tmp_path / ".github" / "workflows" / "values.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        yaml.safe_dump(
            {
                "name": "values",
                "on": {"push": None},
                "permissions": {"contents": "read", "security-events": "write"},
                "jobs": {
                    "check": {
                        "runs-on": "ubuntu-24.04",
                        "timeout-minutes": 10,
                        "steps": [
                            {"uses": "actions/checkout@v4"},
                            {"id": "conformance", "uses": "./", "with": inputs},
                            {"if": "always()", "run": 'echo "${{ steps.conformance.outputs.sarif }}"'},
                        ],
                    }
                },
            },
            sort_keys=False,
        )
    )
    return workflow


def test_action_passes_actionlint_with_every_input(tmp_path: Path) -> None:
    inputs = {
        "values": "deploy/base.yaml+deploy/prod.yaml deploy/other.yaml",
        "chart": "rocketchat/rocketchat",
        "chart-repo": "https://rocketchat.github.io/helm-charts",
        "chart-version": "6.29.0",
        "kube-version": "1.33.0",
        "concurrent-users": "2000",
        "strict": "true",
        "sarif-upload": "true",
    }
    result = _actionlint(_workflow_using_the_action(tmp_path, inputs))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_wrong_action_input(tmp_path: Path) -> None:
    result = _actionlint(_workflow_using_the_action(tmp_path, {"value": "values.yaml"}))
    assert result.returncode != 0 and "value" in result.stdout, result.stdout


def test_action_declares_the_promised_inputs() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert {"chart", "chart-repo", "chart-version", "values", "strict", "sarif-upload"} <= set(
        action["inputs"]
    )
    assert action["inputs"]["chart-repo"]["default"] == "", "chart-repo must be optional (empty by default)"
    assert action["inputs"]["values"]["required"] is True and action["runs"]["using"] == "composite"
    steps = str(action["runs"]["steps"])
    assert "conformance check" in steps and "upload-sarif" in steps


def test_workflow_passes_the_values_to_every_job() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name, job in jobs.items():
        runs = " ".join(
            str(step.get("run", "")) for step in job["steps"] if "pytest" in str(step.get("run", ""))
        )
        lanes_with_values = [
            r for r in runs.split(".venv/bin/pytest") if "suites/upgrade" not in r and r.strip()
        ]
        assert lanes_with_values and all("$VALUES_DIR" in r for r in lanes_with_values), (
            f"job {name} runs a values lane without the maintainer's values (VALUES_DIR): {runs}"
        )


def test_action_shows_the_markdown_report_in_the_job_summary() -> None:
    """The action writes --markdown and appends it to $GITHUB_STEP_SUMMARY, also when the check fails."""
    steps = yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"]
    check = next(step for step in steps if step.get("id") == "check")
    assert '--markdown "$md"' in check["run"], "conformance check writes no Markdown report"
    summary = [step for step in steps if "GITHUB_STEP_SUMMARY" in str(step.get("run", ""))]
    assert summary and summary[0]["if"].startswith("always()"), "the job summary step must run on failure too"


def test_action_passes_chart_repo_as_the_cli_option() -> None:
    """chart-repo reaches conformance check as --chart-repo, and only when it is set."""
    steps = yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"]
    check = next(step for step in steps if step.get("id") == "check")
    assert check["env"]["CHART_REPO"] == "${{ inputs.chart-repo }}", check["env"]
    assert '[ -n "$CHART_REPO" ] && args+=(--chart-repo "$CHART_REPO")' in check["run"], check["run"]
