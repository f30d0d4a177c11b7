"""What writing the HTML and Markdown reports adds to the static lane's wall time (target: at most 5% for
20 values files).

    .venv/bin/python bench/reports_cost.py [--helm .tools/bin/helm3] [--files 20] [--repeat 5]

Two measurements:
- the lane through pytest, as users run it, without and with ``--conformance-html --markdown`` (runs interleaved, so
  a busy machine slows both alike; the median of each is shown);
- in process: the library lane (render + every rule) against building the report model and rendering
  both reports from its results, the reports' own cost without pytest's noise.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from static_lane import CHART, REPO, make_values


def pytest_lane(helm: str, files: list[Path], reports: Path | None) -> float:
    args = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "suites" / "static"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--helm",
        helm,
        "--chart",
        str(CHART),
    ]
    for f in files:
        args += ["--values", str(f)]
    if reports is not None:
        args += ["--conformance-html", str(reports / "report.html"), "--markdown", str(reports / "report.md")]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"pytest failed to run:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def in_process(helm: str, files: list[Path]) -> tuple[float, float, int, int]:
    """(lane seconds, report seconds, HTML bytes, Markdown bytes) for one run in this process."""
    from quickmeet_conformance.reports.html import html_report
    from quickmeet_conformance.reports.markdown import markdown_report
    from quickmeet_conformance.reports.model import report_dict
    from quickmeet_conformance.rules.engine import Options
    from quickmeet_conformance.session import ConformanceSession, Settings

    session = ConformanceSession(
        Settings(
            chart=str(CHART),
            chart_version=None,
            values=tuple(map(str, files)),
            helm=(helm,),
            options=Options(),
        )
    )
    try:
        start = time.perf_counter()
        for key in session.case_keys():
            session.result(key)
        lane = time.perf_counter() - start
        start = time.perf_counter()
        report = report_dict(session.results())
        html, markdown = html_report(report), markdown_report(report)
        reports = time.perf_counter() - start
    finally:
        session.close()
    return lane, reports, len(html.encode()), len(markdown.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helm", default=str(REPO / ".tools" / "bin" / "helm3"))
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qmc-bench-reports-"))
    try:
        (work / "values").mkdir()
        files = make_values(args.files, work / "values")
        without, with_reports = [], []
        for _ in range(args.repeat):
            without.append(pytest_lane(args.helm, files, None))
            with_reports.append(pytest_lane(args.helm, files, work))
        base, extra = statistics.median(without), statistics.median(with_reports)
        print(f"helm: {args.helm}; {args.files} values files; {args.repeat} interleaved runs (median)")
        print(f"pytest lane without reports: {base:6.2f}s  (runs: {', '.join(f'{t:.2f}' for t in without)})")
        runs = ", ".join(f"{t:.2f}" for t in with_reports)
        print(f"pytest lane with --conformance-html --markdown: {extra:6.2f}s  (runs: {runs})")
        print(f"  added: {extra - base:+.2f}s = {100 * (extra - base) / base:+.1f}% (target <= +5%)")
        samples = [in_process(args.helm, files) for _ in range(args.repeat)]
        lane = statistics.median(s[0] for s in samples)
        cost = statistics.median(s[1] for s in samples)
        print(
            f"in process: lane {lane:.2f}s, report model + HTML + Markdown {cost:.3f}s = "
            f"{100 * cost / lane:.1f}% of the lane; HTML {samples[0][2] / 1024:.0f} KiB, "
            f"Markdown {samples[0][3] / 1024:.0f} KiB"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
