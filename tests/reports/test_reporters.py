"""The report formats' registry: every format is found without a list, both routes offer and write exactly the
registered formats, and a new format is one new file (a toy format, written as a file of its own, is offered by
``conformance check --format`` and written by the pytest plugin with no other file changed)."""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from suite_runner import HELM3, REPO, clean_env, run_pytest

from quickmeet_conformance.cli import main, parser
from quickmeet_conformance.reports.reporter import reporter, reporters, unregister

TODAY = ["text", "json", "junit", "sarif", "html", "markdown"]
SEED = str(REPO / "fixtures" / "values" / "seed-docs.yaml")

# The whole of a new format: one module, one registered class. Nothing else names it.
TOY_FORMAT = """\
from quickmeet_conformance.reports.reporter import PytestOption, Reporter, ReportRun, register


@register
class ToyReporter(Reporter):
    name = "toy"
    cli_flag = "--toy"
    cli_help = "also write the toy report to FILE"
    pytest_option = PytestOption("qmc_toy", "--toy-report", "QMC_TOY", "write the toy report", "FILE")

    def render(self, run: ReportRun) -> str:
        cases = (run.document or {}).get("cases") or []
        return f"toy: {len(run.results)} result(s), {len(cases)} case(s) in the model, strict={run.strict}\\n"
"""


def test_every_format_is_found_without_a_list() -> None:
    """In a fresh interpreter that imports only the interface, every format of the package is registered,
    each from a module of its own, in the order ``--format`` has always offered them."""
    code = (
        "from quickmeet_conformance.reports.reporter import reporters\n"
        "print(' '.join(f'{r.name}:{type(r).__module__}' for r in reporters()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=clean_env(), check=True
    )
    pairs = [item.split(":") for item in proc.stdout.split()]
    assert [name for name, _ in pairs] == TODAY, proc.stdout
    modules = [module for _, module in pairs]
    assert len(set(modules)) == len(modules), f"two formats share a module: {modules}"
    assert all(m.startswith("quickmeet_conformance.reports.") for m in modules), modules


def test_both_routes_offer_the_registered_formats(capsys: pytest.CaptureFixture[str]) -> None:
    for each in reporters():
        assert parser().parse_args(["check", SEED, "--format", each.name]).format == each.name
    with pytest.raises(SystemExit):
        parser().parse_args(["check", SEED, "--format", "nope"])
    assert "(choose from " + ", ".join(f"'{n}'" for n in TODAY) + ")" in capsys.readouterr().err
    also = {r.cli_flag for r in reporters() if r.cli_flag}
    assert also == {"--sarif", "--html", "--markdown"}
    for flag in also:
        assert "F" in vars(parser().parse_args(["check", SEED, str(flag), "F"])).values(), flag
    pytest_flags = {r.pytest_option.flag: r.pytest_option.env for r in reporters() if r.pytest_option}
    assert pytest_flags == {
        "--conformance-report": "QMC_REPORT",
        "--sarif": "QMC_SARIF",
        "--conformance-html": "QMC_HTML",
        "--markdown": "QMC_MARKDOWN",
    }
    assert reporter("junit").pytest_option is None and reporter("text").pytest_option is None


@pytest.fixture
def toy_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, Path]]:
    """The toy format as a file of its own, imported (registered) for this test only."""
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "toy_format.py").write_text(TOY_FORMAT, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module("toy_format")
    yield module, folder
    unregister("toy")
    sys.modules.pop("toy_format", None)


def test_a_new_format_is_one_new_file(toy_format: tuple[ModuleType, Path], tmp_path: Path) -> None:
    _, folder = toy_format
    # conformance check: offered by --format (to stdout) and as its own "also write" flag
    out = io.StringIO()
    also = tmp_path / "out" / "also.toy"
    code = main(["check", SEED, "--helm", HELM3, "--format", "toy", "--toy", str(also)], out=out)
    assert code == 0, out.getvalue()
    assert out.getvalue() == "toy: 1 result(s), 1 case(s) in the model, strict=False\n"
    assert also.read_text(encoding="utf-8") == out.getvalue()
    # the pytest plugin: its flag, written at the end of the run like every other report
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_tiny.py").write_text("def test_a_case(conformance_case):\n    pass\n", encoding="utf-8")
    written = tmp_path / "pytest" / "report.toy"
    env = clean_env(PYTHONPATH=f"{folder}:{REPO}")
    args = ["-p", "toy_format", "-p", "quickmeet_conformance.plugin", "test_tiny.py", "-q"]
    args += ["--values", SEED, "--helm", HELM3, "--toy-report", str(written)]
    run = run_pytest(*args, cwd=project, env=env, plugin=False)
    assert run.returncode == 0, run.explain()
    assert written.read_text(encoding="utf-8") == "toy: 1 result(s), 1 case(s) in the model, strict=False\n"
