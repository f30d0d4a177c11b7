"""What a newcomer reads (issue 22): messages name what the user passed, a report written to a file is named
and followed by the verdict, JSON and SARIF carry the verdict and exit code, and no helm is explained for
someone who installed the wheel."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from quickmeet_conformance.cli import main
from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.helm import helm_specs

REPO = Path(__file__).resolve().parents[1]
GOOD = str(REPO / "fixtures" / "values" / "monolith.yaml")
HELM3 = str(REPO / ".tools" / "bin" / "helm3")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_missing_positional_file_names_the_positional_argument(tmp_path):
    code, _, err = cli("check", str(tmp_path / "nope.yaml"), "--helm", HELM3)
    assert code == 2 and "values file not found" in err, err
    assert "given as VALUES" in err and "--values" not in err, err


def test_missing_layer_names_f(tmp_path):
    code, _, err = cli("check", "-f", str(tmp_path / "nope.yaml"), "--helm", HELM3)
    assert code == 2 and "given to -f/--values" in err, err


def test_missing_layer_of_a_joined_case_names_it(tmp_path):
    code, _, err = cli("check", f"{GOOD}+{tmp_path / 'prod.yaml'}", "--helm", HELM3)
    assert code == 2 and "a layer of" in err and "given as VALUES" in err, err


@pytest.mark.parametrize("fmt", ["html", "json", "sarif", "markdown", "junit", "text"])
def test_report_to_a_file_names_it_and_ends_with_the_verdict(fmt, tmp_path):
    target = tmp_path / f"report.{fmt}"
    code, out, _ = cli("check", GOOD, "--helm", HELM3, "--format", fmt, "-o", str(target))
    assert target.is_file()
    lines = out.strip().splitlines()
    assert f"wrote {fmt} report: {target}" in lines, out
    assert lines[-1].startswith("result: ") and lines[-1].endswith(f"exit {code}"), out


def test_json_and_sarif_carry_the_verdict_and_exit_code(tmp_path):
    sarif = tmp_path / "out.sarif"
    code, out, err = cli("check", GOOD, "--helm", HELM3, "--format", "json", "--sarif", str(sarif))
    document = json.loads(
        out
    )  # stdout stays JSON: the note about the SARIF file and the verdict go to stderr
    assert f"wrote sarif report: {sarif}" in err and err.strip().splitlines()[-1].startswith("result: "), err
    assert document["verdict"]["exit_code"] == code and document["verdict"]["summary"].startswith("result: ")
    log = json.loads(sarif.read_text(encoding="utf-8"))
    assert log["runs"][0]["invocations"][0]["exitCode"] == code
    assert log["runs"][0]["properties"]["verdict"]["result"] in ("conformant", "not conformant")


def test_no_helm_tells_a_pip_user_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HELM_BIN", raising=False)
    with pytest.raises(ToolError) as caught:
        helm_specs((), None)  # an installed wheel: no checkout
    line = caught.value.line()
    assert "helm.sh/docs/intro/install" in line and "scripts/install.sh" not in line, line


def test_rules_and_findings_are_counted_apart():
    """'3 warn' beside '4 warnings' read as a contradiction: the tally counts rules, the verdict findings, and
    each says so."""
    seed = str(REPO / "fixtures" / "values" / "seed-docs.yaml")
    _, out, _ = cli("check", seed, "--helm", HELM3)
    tally = [line for line in out.splitlines() if line.strip().startswith("rules: ")]
    assert tally and all("a rule counts once, however many findings it reports" in t for t in tally), out
    assert " warn," not in out and " warn " not in tally[0], tally
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("result: ") and ("warning finding" in verdict or "warning" not in verdict), (
        verdict
    )
