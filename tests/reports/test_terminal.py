"""The terminal summary: -q shows only failures with their detail; colour only when asked or on a TTY."""

from __future__ import annotations

from pathlib import Path

from suite_runner import HELM3

from quickmeet_conformance.reports.terminal import summary_lines

ESC = "\x1b["


def _summary(output: str) -> str:
    return output.split("conformance summary", 1)[1]


def test_quiet_shows_only_failures_with_detail_and_no_colour(run_plugin, bad_values: Path) -> None:
    run = run_plugin("--values", str(bad_values), "--helm", HELM3, "-q", "--color=no")
    assert run.returncode == 1, run.explain()
    summary = _summary(run.stdout)
    assert ESC not in run.stdout, "colour codes with --color=no"
    assert "  PASS " not in summary and "  SKIP " not in summary
    row = next(ln for ln in summary.splitlines() if "streamhub.single-replica" in ln)
    assert row.lstrip().startswith("FAIL")
    detail = summary.split(row, 1)[1].splitlines()[:4]
    assert any("expected:" in ln for ln in detail) and any("found:" in ln for ln in detail), detail


def test_default_verbosity_shows_the_whole_table_and_colour_when_asked(run_plugin, bad_values: Path) -> None:
    run = run_plugin("--values", str(bad_values), "--helm", HELM3, "--color=yes")
    summary = _summary(run.stdout)
    assert "PASS" in summary and "render.succeeds" in summary
    assert f"{ESC}31m  FAIL" in summary, "failures are red on a colour terminal"
    piped = run_plugin("--values", str(bad_values), "--helm", HELM3)  # not a TTY, no --color: plain text
    assert ESC not in piped.stdout


def test_multi_line_values_stay_one_row() -> None:
    """A finding quoting a multi-line value (a PEM as host) must not break the table."""
    from quickmeet_conformance.findings import Finding, Verdict

    class _Stub:  # the fields summary_lines reads
        def __init__(self) -> None:
            from types import SimpleNamespace

            self.input_error = None
            self.case = SimpleNamespace(
                values_path="v.yaml",
                chart=SimpleNamespace(label="c-1"),
                renderer=SimpleNamespace(helm=SimpleNamespace(label="helm3")),
            )
            self.findings = {
                "ingress.tls-covers-host": [
                    Finding("ingress.tls-covers-host", Verdict.FAIL, "TLS does not cover a\nb", found="x\ny")
                ]
            }

        def verdict(self, rule_id: str) -> Verdict:
            return Verdict.FAIL

    lines = summary_lines([_Stub()], strict=True, failures_only=True)
    assert all("\n" not in text for text, _ in lines)
    assert any("a\\nb" in text for text, _ in lines) and any("x\\ny" in text for text, _ in lines)
