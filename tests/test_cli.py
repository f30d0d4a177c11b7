"""``conformance explain`` and ``conformance schema --export`` (and helm 3 and 4 enforcing the export)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.cli import main
from quickmeet_conformance.errors import RenderError
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.render import Renderer, RenderRequest
from quickmeet_conformance.rules.engine import RULES, rules_for_lane
from quickmeet_conformance.schema import export_chart_schema
from quickmeet_conformance.values import load_values

REPO = Path(__file__).resolve().parents[1]
GOOD_VALUES = sorted((REPO / "fixtures/values").glob("*.yaml"))


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_explain_lists_every_rule() -> None:
    code, out, _ = cli("explain")
    assert code == 0
    for rule_obj in rules_for_lane("static"):
        assert rule_obj.id in out and rule_obj.title in out


def test_explain_rule_says_what_why_and_how_to_fix() -> None:
    """Issue 22: the "why" a customer reads is the rule's public document (``docs:``); the CONTRACT.md
    section, a file the wheel does not ship, and the basis are shown by ``--verbose`` only (this test pinned
    the labels checks/why/fix and the contract in the plain output before)."""
    code, out, err = cli("explain", "streamhub.single-replica")
    meta = RULES["streamhub.single-replica"]
    flat = " ".join(out.split())
    assert code == 0 and not err
    assert meta.title in flat and meta.doc in flat and meta.fix in flat
    assert meta.doc.startswith("https://") and "CONTRACT.md" not in out, out
    labels = [ln.split(":")[0] for ln in out.splitlines() if not ln.startswith(" ")][1:]
    assert labels == ["checks", "docs", "fix"], out
    code, out, err = cli("explain", "streamhub.single-replica", "--verbose")
    flat = " ".join(out.split())
    assert code == 0 and not err and meta.contract in flat and meta.basis in flat, out
    labels = [ln.split(":")[0] for ln in out.splitlines() if not ln.startswith(" ")][1:]
    assert labels == ["checks", "docs", "fix", "contract"], out


@pytest.mark.parametrize(
    "typo, closest",
    [
        ("streamhub.single-replicas", "streamhub.single-replica"),
        ("ignored-keys", "values.ignored-keys"),
        ("ingres.class", "ingress.class"),
    ],
)
def test_unknown_rule_is_one_line_with_the_closest_id(typo: str, closest: str) -> None:
    code, out, err = cli("explain", typo)
    assert code == 2 and not out
    assert err.count("\n") == 1 and f"did you mean {closest}?" in err, err


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "conformance"
    proc = subprocess.run(
        [str(script), "explain", "values.schema"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and "values.schema" in proc.stdout, proc.stderr


def test_output_into_a_closed_pipe_is_no_traceback() -> None:
    """`conformance explain | head -1`: the reader leaves early; no BrokenPipeError traceback."""
    script = Path(sys.executable).parent / "conformance"
    proc = subprocess.run(
        f"'{script}' explain | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        executable="/bin/bash",
        check=False,
    )
    assert proc.stdout.count("\n") == 1 and "Traceback" not in proc.stderr and not proc.stderr, proc.stderr


def test_schema_export_prints_the_chart_schema(tmp_path: Path) -> None:
    code, out, _ = cli("schema", "--export")
    assert code == 0 and json.loads(out) == export_chart_schema()
    code, _, _ = cli("schema", "--export", "-o", str(tmp_path / "values.schema.json"))
    assert code == 0 and json.loads((tmp_path / "values.schema.json").read_text()) == export_chart_schema()
    code, _, err = cli("schema", "--export", "-o", str(tmp_path / "missing-dir" / "x.json"))
    assert code == 2 and "missing-dir" in err


@pytest.mark.parametrize("helm_name", ["helm3", "helm4"])
def test_helm_enforces_the_exported_schema(helm_name: str, tmp_path: Path) -> None:
    chart_dir = tmp_path / "rocketchat"
    shutil.copytree(REPO / "fixtures/charts/rocketchat", chart_dir)
    code, _, _ = cli("schema", "--export", "-o", str(chart_dir / "values.schema.json"))
    assert code == 0
    helm = resolve_helm(str(REPO / ".tools/bin" / helm_name))
    chart = load_chart(str(chart_dir), version=None, helm_path=helm.path, workdir=tmp_path)
    renderer = Renderer(helm)
    requests = [RenderRequest(chart, load_values(p).data, values_label=p.name) for p in GOOD_VALUES]
    renderer.prefetch(requests)
    for request in requests:
        renderer.render(request)  # raises RenderError if helm rejects a good fixture
    with pytest.raises(RenderError) as refused:
        renderer.render(RenderRequest(chart, {"replicaCount": -1}, values_label="negative.yaml"))
    assert "replicaCount" in str(refused.value) and "schema" in str(refused.value).lower(), refused.value
