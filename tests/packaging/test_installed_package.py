"""The package as a customer gets it: a wheel built from the tracked files, installed into a fresh virtual
environment outside the checkout, run from another directory with only helm on PATH.

Proves (issue 11, item 1) that the wheel carries everything the tool reads at run time (the values schema,
the reference chart, the suites), that ``conformance check`` and ``pytest --pyargs quickmeet_conformance.suites``
both work there, and that the repository's ``schemas/`` and reference chart are what the wheel ships.
Dependencies come from PyPI through pip's cache (the wheel's build backend too: setuptools >= 77).
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / ".tools" / "bin" / "helm3"
PIP_TIMEOUT_S = 900

GOOD = REPO / "fixtures" / "values" / "microservices-scaled.yaml"
TYPO = "microservices:\n  enabled: true\n  ddpStreamers:\n    replicas: 2\n"


def _run(
    argv: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _tracked_copy(dest: Path) -> Path:
    """The files git tracks (and new ones not ignored): what a clone would build from."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO).stdout.split("\0")
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file() and not source.is_symlink():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(work / "src")
    proc = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(source)],
        cwd=work,
        timeout=PIP_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"building the wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    (built,) = (work / "dist").glob("quickmeet_conformance-*.whl")
    return built


@pytest.fixture(scope="module")
def venv_bin(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("customer") / "venv"
    assert not str(venv).startswith(str(REPO)), "the venv must be outside the checkout"
    proc = _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    assert proc.returncode == 0, proc.stderr
    proc = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        cwd=venv.parent,
        timeout=PIP_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"installing the wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return venv / "bin"


@pytest.fixture
def customer_env(tmp_path: Path) -> dict[str, str]:
    """PATH with helm (and nothing of the checkout's, PYTHONPATH neither): a customer's shell."""
    if not HELM.exists():
        pytest.fail("helm is not installed: run scripts/install-helm.sh", pytrace=False)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "helm").symlink_to(HELM)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QMC_", "HELM_BIN", "PYTEST_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    env["PATH"] = f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin"
    return env


def test_wheel_carries_schema_chart_suites_and_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        schema = archive.read("quickmeet_conformance/schemas/values.schema.json")
        chart = {
            n.removeprefix("quickmeet_conformance/reference_chart/"): archive.read(n)
            for n in names
            if n.startswith("quickmeet_conformance/reference_chart/") and not n.endswith("/")
        }
        metadata = email.message_from_bytes(
            archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        )
        licence = next((n for n in names if n.endswith(".dist-info/licenses/LICENSE")), None)
        licence_text = archive.read(licence).decode() if licence else ""
        rules_doc = (
            archive.read("quickmeet_conformance/docs/rules.md")
            if ("quickmeet_conformance/docs/rules.md" in names)
            else b""
        )
    assert schema == (REPO / "schemas" / "values.schema.json").read_bytes(), (
        "the wheel's schema differs from schemas/values.schema.json"
    )
    repo_chart = REPO / "fixtures" / "charts" / "rocketchat"
    expected = {
        p.relative_to(repo_chart).as_posix(): p.read_bytes() for p in repo_chart.rglob("*") if p.is_file()
    }
    assert chart == expected, f"the wheel's reference chart differs: {sorted(set(chart) ^ set(expected))}"
    suites = {n for n in names if n.startswith("quickmeet_conformance/suites/") and n.endswith(".py")}
    repo_suites = {
        "quickmeet_conformance/" + p.relative_to(REPO).as_posix() for p in (REPO / "suites").rglob("*.py")
    }
    assert suites == repo_suites, f"suites missing from the wheel: {sorted(repo_suites - suites)}"
    assert metadata["License-Expression"] == "Apache-2.0", metadata["License-Expression"]
    assert "Apache License" in licence_text and "Version 2.0" in licence_text, (
        "LICENSE is not the Apache 2.0 text"
    )
    assert (REPO / "LICENSE").read_text() == licence_text
    assert not any(n.startswith(("tests/", "fixtures/", "bench/")) for n in names)
    assert "quickmeet_conformance/mutants.py" not in names, (
        "test-only code (tests/mutants.py) is in the wheel"
    )
    # what SARIF's helpUri and 'conformance explain' point at (setup.py ships docs/ as quickmeet_conformance/docs)
    assert "quickmeet_conformance/docs/rules.md" in names, "docs/rules.md is not in the wheel"
    assert rules_doc == (REPO / "docs" / "rules.md").read_bytes(), (
        "the wheel's rules.md differs from docs/rules.md"
    )


def test_conformance_check_runs_from_the_installed_package(
    venv_bin: Path, customer_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "good.yaml").write_bytes(GOOD.read_bytes())
    (tmp_path / "typo.yaml").write_text(TYPO)
    where = _run(
        [str(venv_bin / "python"), "-c", "import quickmeet_conformance as q; print(q.__file__)"],
        cwd=tmp_path,
        env=customer_env,
    )
    assert str(venv_bin.parent) in where.stdout and str(REPO) not in where.stdout, where.stdout + where.stderr

    good = _run([str(venv_bin / "conformance"), "check", "good.yaml"], cwd=tmp_path, env=customer_env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "bundled reference chart" in good.stdout and "result: conformant" in good.stdout, good.stdout

    typo = _run(
        [str(venv_bin / "conformance"), "check", "typo.yaml", "--format", "json", "-o", "out.json"],
        cwd=tmp_path,
        env=customer_env,
    )
    assert typo.returncode == 1, typo.stdout + typo.stderr
    (case,) = json.loads((tmp_path / "out.json").read_text())["cases"]
    (ignored,) = [r for r in case["rules"] if r["id"] == "values.ignored-keys"]
    location = ignored["findings"][0]["location"]
    assert ignored["verdict"] == "fail" and (location["file"], location["line"], location["column"]) == (
        "typo.yaml",
        3,
        3,
    ), ignored

    schema = _run([str(venv_bin / "conformance"), "schema", "--export"], cwd=tmp_path, env=customer_env)
    assert schema.returncode == 0 and json.loads(schema.stdout)["properties"], schema.stderr

    missing = _run([str(venv_bin / "conformance"), "check", "nope.yaml"], cwd=tmp_path, env=customer_env)
    assert (
        missing.returncode == 2 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    ), missing.stderr


def _installed_suites(venv_bin: Path, folder: Path, *options: str) -> list[str]:
    """The customer's pytest route over the installed suites, run in ``folder`` beside a good.yaml and a
    typo.yaml written there."""
    (folder / "good.yaml").write_bytes(GOOD.read_bytes())
    (folder / "typo.yaml").write_text(TYPO)
    python = str(venv_bin / "python")
    return [
        python,
        "-m",
        "pytest",
        "--pyargs",
        "quickmeet_conformance.suites",
        "-p",
        "no:cacheprovider",
        *options,
    ]


def test_pytest_route_runs_the_installed_suites(
    venv_bin: Path, customer_env: dict[str, str], tmp_path: Path
) -> None:
    base = _installed_suites(venv_bin, tmp_path, "-rs")
    good = _run(base + ["--values", "good.yaml"], cwd=tmp_path, env=customer_env)
    output = good.stdout + good.stderr
    assert good.returncode == 0, output
    assert "passed" in output and "no upgrade pair named" in output and "--cluster none" in output, output
    typo = _run(base + ["--values", "typo.yaml", "-q"], cwd=tmp_path, env=customer_env)
    assert typo.returncode == 1 and "ddpStreamers" in typo.stdout and "typo.yaml:3:3" in typo.stdout, (
        typo.stdout
    )
    # the static install has no 'live' extra: asking for a cluster says how to get it, in one line
    live = _run(base + ["--values", "good.yaml", "--cluster", "kwok"], cwd=tmp_path, env=customer_env)
    output = live.stdout + live.stderr
    assert live.returncode == 4 and "pip install 'quickmeet-conformance[live]'" in output, output
    assert "Traceback" not in output, output


def test_installed_suites_run_with_strict_markers(
    venv_bin: Path, customer_env: dict[str, str], tmp_path: Path
) -> None:
    """A customer project with --strict-markers (in its addopts) runs the installed suites: every marker the
    suites and the plugin use is registered by the plugin."""
    base = _installed_suites(venv_bin, tmp_path, "--strict-markers", "-q")
    runs = {
        "good": (_run(base + ["--values", "good.yaml"], cwd=tmp_path, env=customer_env), 0),
        "typo": (_run(base + ["--values", "typo.yaml"], cwd=tmp_path, env=customer_env), 1),
    }
    for name, (proc, expected) in runs.items():
        output = proc.stdout + proc.stderr
        assert proc.returncode == expected and "Traceback" not in output, f"{name}.yaml:\n{output[-3000:]}"
        assert "not found in `markers` configuration option" not in output, output[-3000:]


def test_static_install_leaves_out_the_live_extra(venv_bin: Path) -> None:
    """A static check's install has no kubernetes client, pyhelm3 or pydantic: smaller and quicker."""
    site = next((venv_bin.parent / "lib").glob("python3*/site-packages"))
    present = sorted(
        name
        for name in ("kubernetes", "pyhelm3", "pydantic", "cryptography", "nats", "websockets")
        if (site / name).exists()
    )
    assert not present, f"the static install pulled in the live extra's packages: {present}"


README = REPO / "README.md"
CUSTOMER_PATH = "<!-- customer-path"


def readme_customer_block() -> str:
    """The README's "From zero to a verdict" commands, exactly as a customer reads them."""
    after = README.read_text(encoding="utf-8").split(CUSTOMER_PATH, 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def test_readme_customer_path_runs_as_written(
    wheel: Path, customer_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 22: a new user with only the wheel and a values file gets to a verdict by following the README.
    Its block runs unchanged under bash (-e: every command must succeed) in a folder holding the wheel and
    my-values.yaml, with python3 and helm on PATH and a HOME of its own (pip's cache is shared, nothing else)."""
    block = readme_customer_block()
    assert (
        "pip install ./quickmeet_conformance-*.whl" in block and "conformance check my-values.yaml" in block
    )
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    shutil.copy2(wheel, work / wheel.name)
    (work / "my-values.yaml").write_bytes(GOOD.read_bytes())
    tools = Path(customer_env["PATH"].split(os.pathsep)[0])
    (tools / "python3").symlink_to(sys.executable)
    env = {**customer_env, "HOME": str(home)}
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    proc = _run(["bash", "-eu", "-c", block], cwd=work, env=env, timeout=PIP_TIMEOUT_S)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "conformance (quickmeet-conformance)" in proc.stdout, output[-3000:]
    assert "Version:" in proc.stdout or "v3." in proc.stdout or "v4." in proc.stdout, output[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith("result: conformant") and lines[-1].endswith("exit 0"), output[-3000:]
    assert (home / ".venvs" / "conformance" / "bin" / "conformance").exists(), "the venv is not where it says"
