"""options.read_option: the one way every lane reads an option (flag, else environment variable, else default)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from quickmeet_conformance.options import OptionSpec, conformance_asked, declare, read_option

SPECS = declare(
    [
        OptionSpec("qmc_test_text", "--test-text", "QMC_TEST_TEXT", "a text"),
        OptionSpec("qmc_test_list", "--test-list", "QMC_TEST_LIST", "a list", {"action": "append"}),
        OptionSpec("qmc_test_flag", "--test-flag", "QMC_TEST_FLAG", "a switch", {"action": "store_true"}),
        OptionSpec("qmc_test_number", "--test-number", "QMC_TEST_NUMBER", "a number", {"type": float}),
    ]
)


class FakeConfig:
    """What read_option asks of a pytest.Config: getoption and the parsed option namespace."""

    def __init__(self, **given: Any) -> None:
        self.option = SimpleNamespace(**given)

    def getoption(self, name: str, default: Any = None) -> Any:
        return getattr(self.option, name, default)


def _read(config: FakeConfig, dest: str) -> Any:
    return read_option(config, dest)  # type: ignore[arg-type]  # a stand-in for pytest.Config


def test_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QMC_TEST_TEXT", "from-env")
    assert _read(FakeConfig(qmc_test_text="from-flag"), "qmc_test_text") == "from-flag"
    assert _read(FakeConfig(qmc_test_text=None), "qmc_test_text") == "from-env"


def test_the_environment_is_parsed_like_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QMC_TEST_LIST", "a.yaml:b.yaml:")
    monkeypatch.setenv("QMC_TEST_FLAG", "no")
    monkeypatch.setenv("QMC_TEST_NUMBER", "2.5")
    config = FakeConfig(qmc_test_list=None, qmc_test_flag=False, qmc_test_number=None)
    assert _read(config, "qmc_test_list") == ["a.yaml", "b.yaml"]
    assert _read(config, "qmc_test_flag") is False
    assert _read(config, "qmc_test_number") == 2.5
    monkeypatch.setenv("QMC_TEST_NUMBER", "soon")
    with pytest.raises(pytest.UsageError, match="QMC_TEST_NUMBER='soon' is not a number"):
        _read(config, "qmc_test_number")


def test_another_plugins_option_is_its_flag_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-kind-ng's --kubeconfig has no QMC_ variable; when no plugin registered it, it reads as None."""
    monkeypatch.setenv("KUBECONFIG", "/elsewhere")
    assert _read(FakeConfig(kubeconfig="/k"), "kubeconfig") == "/k"
    assert _read(FakeConfig(), "kubeconfig") is None


def test_conformance_is_asked_by_a_flag_or_a_qmc_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("QMC_")]:
        monkeypatch.delenv(name)
    assert not conformance_asked(FakeConfig(qmc_test_text=None, other="x"))  # type: ignore[arg-type]
    assert conformance_asked(FakeConfig(qmc_test_text="x"))  # type: ignore[arg-type]
    monkeypatch.setenv("QMC_ANYTHING", "1")
    assert conformance_asked(FakeConfig())  # type: ignore[arg-type]
