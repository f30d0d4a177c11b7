"""The plugin in projects that are not this one: beside pytest-html (which owns ``--html``), and under
``--strict-markers`` without pytest-xdist (which declares ``xdist_group``); neither may stop pytest."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from suite_runner import HELM3, REPO, clean_env, run_pytest

from quickmeet_conformance import plugin_reports
from quickmeet_conformance.plugin_reports import option_flags
from quickmeet_conformance.reports.reporter import reporter

HTML_OPTION = reporter("html").pytest_option
assert HTML_OPTION is not None


def html_flags(pytest_html_installed: bool | None = None) -> tuple[str, ...]:
    """The HTML report's flags, as the plugin declares them (``--html`` is pytest-html's when installed)."""
    assert HTML_OPTION is not None
    return option_flags(HTML_OPTION, alias_owner_installed=pytest_html_installed)


# A stand-in for pytest-html: a plugin module of that name that adds the option it owns.
FAKE_PYTEST_HTML = """\
def pytest_addoption(parser):
    parser.getgroup("terminal reporting").addoption("--html", dest="htmlpath", metavar="path")
"""


def _pytest(args: list[str], cwd: Path, *path: Path) -> tuple[int, str]:
    """pytest in ``cwd`` (a project that is not this one) on this checkout's plugin, ``path`` importable."""
    env = clean_env(PYTHONPATH=os.pathsep.join(str(p) for p in (*path, REPO)))
    run = run_pytest(*args, cwd=cwd, env=env)
    return run.returncode, run.output


def test_html_is_an_alias_only_without_pytest_html(monkeypatch: pytest.MonkeyPatch) -> None:
    assert html_flags(pytest_html_installed=False) == ("--conformance-html", "--html")
    assert html_flags(pytest_html_installed=True) == ("--conformance-html",)
    real = importlib.util.find_spec
    for installed in (True, False):

        def find_spec(name: str, *args: object, installed: bool = installed) -> object:
            return (object() if installed else None) if name == "pytest_html" else real(name, *args)

        monkeypatch.setattr(plugin_reports.importlib.util, "find_spec", find_spec)
        assert html_flags() == html_flags(pytest_html_installed=installed), installed


def test_pytest_starts_beside_pytest_html(tmp_path: Path) -> None:
    """With pytest-html importable and loaded, ``--html`` is its; the report is ``--conformance-html`` (or
    QMC_HTML). Before, both plugins added ``--html`` and pytest refused to start."""
    (tmp_path / "pytest_html.py").write_text(FAKE_PYTEST_HTML, encoding="utf-8")
    code, out = _pytest(["-p", "pytest_html", "--help"], tmp_path, tmp_path)
    assert code == 0, out[-3000:]
    assert "--conformance-html=FILE" in out and "--html=FILE" not in out, out[-3000:]


def test_strict_markers_without_xdist_do_not_stop_the_run(tmp_path: Path) -> None:
    """A customer project with ``--strict-markers`` and no pytest-xdist: the live lane's cases are not grouped
    for xdist (its ``xdist_group`` marker is undeclared there), and the run does not crash."""
    (tmp_path / "test_tiny.py").write_text("def test_a_live_case(live_case):\n    pass\n", encoding="utf-8")
    values = str(REPO / "fixtures" / "values" / "seed-docs.yaml")
    args = ["test_tiny.py", "--strict-markers", "-p", "no:xdist", "--values", values, "--helm", HELM3]
    code, out = _pytest([*args, "--cluster", "none", "-q", "-rs"], tmp_path)
    assert "INTERNALERROR" not in out and "xdist_group" not in out, out[-3000:]
    assert code == 0 and "1 skipped" in out, out[-3000:]
