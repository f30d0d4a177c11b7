"""What the renderer makes of broken chart output, of helm's multi-line errors and of a hung helm (no real
helm needed)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from waits import eventually

from quickmeet_conformance.charts import Chart
from quickmeet_conformance.errors import RenderError
from quickmeet_conformance.helm import HelmBinary
from quickmeet_conformance.render import Renderer, RenderRequest, _helm_error_line, parse_manifests


@pytest.mark.parametrize(
    "text, says",
    [
        (
            "---\n# Source: rocketchat/templates/a.yaml\nkind: ConfigMap\ndata: [unclosed\n",
            "invalid YAML in rocketchat/templates/a.yaml",
        ),
        (
            "---\n# Source: rocketchat/templates/b.yaml\njust a string\n",
            "rocketchat/templates/b.yaml rendered a document that is not",
        ),
        (
            "---\n# Source: rocketchat/templates/c.yaml\n- a\n- list\n",
            "rocketchat/templates/c.yaml rendered a document that is not",
        ),
        (
            "---\n# Source: rocketchat/templates/d.yaml\napiVersion: v1\nmetadata: {}\n",
            "not a Kubernetes object",
        ),
    ],
)
def test_broken_chart_output_is_one_render_error(text: str, says: str) -> None:
    with pytest.raises(RenderError) as error:
        parse_manifests(text, "values.yaml with rocketchat-2.0.0")
    assert says in str(error.value) and "\n" not in str(error.value)


def test_helm_schema_errors_keep_their_list_on_the_line() -> None:
    stderr = (
        b"Error: values don't meet the specifications of the schema(s) in the following chart(s):\n"
        b"rocketchat:\n- replicaCount: Must be greater than or equal to 0\n\n"
    )
    line = _helm_error_line(stderr)
    assert (
        line.startswith("Error: values don't meet")
        and "replicaCount: Must be greater than or equal to 0" in line
    )


def test_helm_error_line_survives_garbage() -> None:
    assert _helm_error_line(b"") == "helm failed without a message"
    assert "\ufffd" in _helm_error_line(b"Error: \xff\xfe broken")
    assert len(_helm_error_line(b"Error: " + b"x" * 5000)) == 500


def test_renderer_times_out_and_kills_a_hung_helm(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = tmp_path / "helm"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\nwait\n", encoding="utf-8")
    script.chmod(0o755)
    chart = Chart(spec="x", path=tmp_path, name="x", version="1.0.0", app_version="1.0.0")
    renderer = Renderer(HelmBinary(str(script), "v3.17.3"), timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(RenderError, match=r"took more than 0.5s"):
        renderer.render(RenderRequest(chart, {}, values_label="v.yaml"))
    assert time.monotonic() - start < 10
    child = int(pidfile.read_text())

    def state() -> str:
        return Path(f"/proc/{child}/stat").read_text() if Path(f"/proc/{child}").exists() else ""

    # a zombie is dead, just not yet reaped by its (dead) parent's reaper
    eventually("helm's child exits", lambda: not state() or ") Z " in state(), timeout=5, interval=0.05)
    assert not state() or ") Z " in state(), f"helm's child {child} still runs after the timeout"
