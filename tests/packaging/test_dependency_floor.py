"""The kubernetes-validate floor in pyproject.toml gives the offline schemas the tool promises: the default
--kube-version (1.35) and every version up to the README's upper bound (1.37, the KWOK and kind clusters'
version). kubernetes-validate X.Y ships the schemas of Kubernetes 1.Y and older minors; 1.31 (the old floor)
ships neither 1.35 nor 1.37, so a fresh install at the floor failed every default check."""

from __future__ import annotations

import re
from importlib.metadata import version as installed_version
from pathlib import Path

from quickmeet_conformance.rules.engine import Options
from quickmeet_conformance.rules.kube_schema import supported_kube_versions

REPO = Path(__file__).resolve().parents[2]


def _minor(text: str) -> tuple[int, int]:
    match = re.match(r"v?(\d+)\.(\d+)", text)
    assert match, text
    return int(match.group(1)), int(match.group(2))


def _floor() -> tuple[int, int]:
    # a regex, not tomllib: the package supports Python 3.10
    found = re.findall(r'^\s*"kubernetes-validate([^"]*)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert len(found) == 1 and found[0].startswith(">="), f"pyproject.toml: kubernetes-validate{found}"
    return _minor(found[0].removeprefix(">="))


def _readme_upper_bound() -> tuple[int, int]:
    match = re.search(
        r"bundled offline schemas' \((\d+\.\d+) to (\d+\.\d+)\)", (REPO / "README.md").read_text()
    )
    assert match, "README.md no longer states the bundled schemas' range for --kube-version"
    return _minor(match.group(2))


def test_floor_ships_the_default_and_the_documented_kube_versions() -> None:
    floor = _floor()
    assert floor >= _minor(Options().kube_version), (
        f"kubernetes-validate>={'.'.join(map(str, floor))} lacks the default --kube-version "
        f"{Options().kube_version}'s schemas"
    )
    assert floor >= _readme_upper_bound(), (
        f"README promises schemas up to {_readme_upper_bound()}, the floor {floor} does not ship them"
    )


def test_installed_kubernetes_validate_ships_its_own_minor() -> None:
    """The convention the floor relies on, checked on the installed copy: version 1.Y has the 1.Y schemas."""
    installed = _minor(installed_version("kubernetes-validate"))
    assert installed >= _floor(), f"installed kubernetes-validate {installed} is below the floor {_floor()}"
    assert f"{installed[0]}.{installed[1]}" in supported_kube_versions(), supported_kube_versions()
