"""The checkout's own defaults (the top-level conftest.py): the helm binaries it names are the ones installed.

After ``scripts/install.sh --static`` only .tools/bin/helm3 exists (or only helm on PATH); naming helm4 anyway
stopped ``pytest suites/ --values my.yaml`` with "helm4: helm binary not found" (rc 4)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from suite_runner import run_pytest

REPO = Path(__file__).resolve().parents[2]
HELM3 = REPO / ".tools" / "bin" / "helm3"
GOOD = REPO / "fixtures" / "values" / "microservices-scaled.yaml"


def _project_conftest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qmc_project_conftest", REPO / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tools(root: Path, *names: str) -> Path:
    bin_dir = root / ".tools" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        (bin_dir / name).symlink_to(HELM3)
    return root


@pytest.mark.parametrize(
    "present,expected",
    [
        (("helm3", "helm4"), [".tools/bin/helm3", ".tools/bin/helm4"]),  # CI runs both majors
        (("helm3",), [".tools/bin/helm3"]),  # scripts/install.sh --static
        (("helm4",), [".tools/bin/helm4"]),
        ((), ["helm"]),  # helm on PATH only
    ],
)
def test_default_helms_are_the_installed_ones(present, expected, tmp_path: Path) -> None:
    assert _project_conftest().installed_helms(_tools(tmp_path, *present)) == expected


def test_default_helms_of_this_checkout_keep_both_majors_when_installed() -> None:
    helms = _project_conftest().installed_helms(REPO)
    installed = [p for p in (".tools/bin/helm3", ".tools/bin/helm4") if (REPO / p).is_file()]
    assert helms == (installed or ["helm"]), helms


@pytest.mark.parametrize("layout", ["helm3-only", "path-only"])
def test_pytest_route_runs_with_one_helm_installed(layout: str, tmp_path: Path) -> None:
    """A checkout after install.sh --static (only .tools/bin/helm3), or with helm only on PATH, runs
    'pytest suites/static --values my.yaml' with no --helm."""
    if not HELM3.exists():
        pytest.skip("helm 3 is not installed: run scripts/install-helm.sh helm3")
    project = tmp_path / "checkout"
    project.mkdir()
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(REPO / name, project / name)
    for name in ("suites", "fixtures"):
        (project / name).symlink_to(REPO / name)
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    if layout == "helm3-only":
        _tools(project, "helm3")
    else:
        (path_dir / "helm").symlink_to(HELM3)
    (tmp_path / "my.yaml").write_bytes(GOOD.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMC_", "HELM_BIN", "PYTEST_"))}
    env["PATH"] = f"{path_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin"
    # the plugin autoloaded by its entry point, as in a customer's checkout
    proc = run_pytest(
        "suites/static/test_values.py",
        "-v",
        "--values",
        str(tmp_path / "my.yaml"),
        cwd=project,
        env=env,
        plugin=False,
        timeout_s=300,
    )
    output = proc.output
    assert proc.returncode == 0, output
    assert "helm binary not found" not in output and "passed" in output, output
    one_helm = "[my@helm3]" if layout == "helm3-only" else "[my@helm]"
    assert one_helm in output and "@helm4]" not in output, output  # one helm: each case runs once
