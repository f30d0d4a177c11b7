"""``conformance check --html FILE --markdown FILE`` (what the reusable GitHub Action appends to the job
summary): the same report model as the pytest route, with the upgrade plan when --upgrade-from is given."""

from __future__ import annotations

import io
from pathlib import Path

from quickmeet_conformance.cli import main

REPO = Path(__file__).resolve().parents[1]
HELM3 = str(REPO / ".tools" / "bin" / "helm3")
VALUES = REPO / "fixtures" / "values"


def test_check_writes_html_and_markdown_beside_the_text_report(tmp_path: Path) -> None:
    html, markdown = tmp_path / "out" / "report.html", tmp_path / "out" / "report.md"
    out = io.StringIO()
    code = main(
        [
            "check",
            str(VALUES / "app-8.yaml"),
            "--helm",
            HELM3,
            "--upgrade-from",
            str(VALUES / "old-app-streamhub.yaml"),
            "--html",
            str(html),
            "--markdown",
            str(markdown),
        ],
        out=out,
    )
    assert code in (0, 1), out.getvalue()
    page, text = html.read_text(encoding="utf-8"), markdown.read_text(encoding="utf-8")
    assert 'class="node col-workload' in page and 'class="matrix"' in page, "no diagram or matrix in the HTML"
    assert 'data-action="deleted"' in page and "rocketchat-stream-hub" in page, "the upgrade plan is missing"
    assert text.count("```mermaid") == 1 and "| deleted | `Deployment/rocketchat-stream-hub` |" in text, text[
        :2000
    ]
    assert "app-8" in out.getvalue(), "the text report still goes to stdout"


def test_check_format_markdown_to_stdout() -> None:
    out = io.StringIO()
    main(["check", str(VALUES / "seed-docs.yaml"), "--helm", HELM3, "--format", "markdown"], out=out)
    assert out.getvalue().startswith("## QuickMeet.Chat conformance") and "```mermaid" in out.getvalue()
