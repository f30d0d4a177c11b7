"""Fixtures for the framework's own tests: the repository's tools and fixtures, both helm majors."""

from __future__ import annotations

from pathlib import Path

import pytest

from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.helm import HelmBinary, resolve_helm
from quickmeet_conformance.options import OptionSpec, add_options
from quickmeet_conformance.render import Renderer

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
HELM_SPECS = {"helm3": REPO / ".tools/bin/helm3", "helm4": REPO / ".tools/bin/helm4"}


# the self-tests' own options, read like the plugin's (flag, else environment variable, else default)
SELF_TEST_OPTIONS = [
    OptionSpec(
        "qmc_kind_repeat",
        "--kind-repeat",
        "QMC_KIND_REPEAT",
        "tests/kind/test_kind_repeat.py: install the kind scenario's correct releases this many times with the "
        "CPU saturated by stress-ng (default 1)",
        {"type": int},
    ),
    OptionSpec(
        "qmc_kind_repeat_record",
        "--kind-repeat-record",
        "QMC_KIND_REPEAT_RECORD",
        "tests/kind/test_kind_repeat.py: write each run's verdicts and waits to this JSON file "
        "(bench/kind_under_load.py reads it)",
    ),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run the long loops (interruption, flakiness)"
    )
    add_options(parser, SELF_TEST_OPTIONS, "conformance-self-tests", "QuickMeet.Chat conformance self-tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long loop: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session", params=sorted(HELM_SPECS))
def helm(request: pytest.FixtureRequest) -> HelmBinary:
    """Each helm major in turn; a missing binary fails (never skips): run scripts/install.sh."""
    try:
        return resolve_helm(str(HELM_SPECS[request.param]))
    except ToolError as exc:
        pytest.fail(exc.line(), pytrace=False)


@pytest.fixture(scope="session")
def renderers() -> dict[str, Renderer]:
    return {}


@pytest.fixture
def renderer(helm: HelmBinary, renderers: dict[str, Renderer]) -> Renderer:
    return renderers.setdefault(helm.path, Renderer(helm))
