"""helm.helm_specs / helm.default_helm: the CLI and the plugin find helm the same way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.helm import default_helm, helm_specs


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_helm_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty PATH directory and no HELM_BIN."""
    empty = tmp_path / "path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("HELM_BIN", raising=False)
    return empty


def test_named_helms_come_first_then_helm_bin(no_helm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert helm_specs(["/a/helm3"], None) == ("/a/helm3",)
    monkeypatch.setenv("HELM_BIN", f"/a/helm3{os.pathsep}/b/helm4")
    assert helm_specs([], None) == ("/a/helm3", "/b/helm4")


def test_path_before_the_checkouts_tools(no_helm_env: Path, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    tools_helm = _executable(checkout / ".tools" / "bin" / "helm")
    assert default_helm(checkout) == str(tools_helm) == helm_specs([], checkout)[0]
    _executable(no_helm_env / "helm")
    assert default_helm(checkout) == "helm"


def test_no_helm_anywhere(no_helm_env: Path, tmp_path: Path) -> None:
    assert default_helm(tmp_path) is None and default_helm(None) is None
    with pytest.raises(ToolError, match="no helm on PATH"):
        helm_specs([], tmp_path)
