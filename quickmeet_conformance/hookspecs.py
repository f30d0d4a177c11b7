"""Hooks a project's conftest.py may implement to give the plugin its defaults."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_conformance_defaults(config: pytest.Config) -> dict[str, Any] | None:
    """Defaults for options the user did not give: ``chart``, ``values_dir`` (every *.yaml in it),
    ``helm`` (a list of binaries), ``upgrades_dir`` (the upgrade matrix), ``cluster`` (the live lane's
    provider) and ``live_prerequisites_dir``. Relative paths are taken from the rootdir."""


@pytest.hookspec
def pytest_conformance_report_sections(config: pytest.Config) -> dict[str, Any] | None:
    """A lane's sections of ``--conformance-report`` beside ``cases`` (e.g. ``upgrades``, ``live``); empty or
    None when the lane evaluated nothing. Every implementation's sections are merged."""
