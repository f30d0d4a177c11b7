"""conformance --version: the tool's name and version, exit 0."""

from __future__ import annotations

import io

import pytest

from quickmeet_conformance import __version__
from quickmeet_conformance.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"], out=io.StringIO(), err=io.StringIO())
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"conformance (quickmeet-conformance) {__version__}"
