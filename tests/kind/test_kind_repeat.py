"""The same live verdict under load (issue 24): the kind scenario's correct releases, installed again and
again on the session's kind cluster while stress-ng keeps every CPU busy, give the same verdicts every
time, and none of them fails: a busy machine must never make a correct release look broken.

Runs ``--kind-repeat N`` times (env QMC_KIND_REPEAT; default 1), alternating helm 3 and helm 4; with
``--kind-repeat-record PATH`` each run's verdicts and waits (how long each took, against which deadline) go
to a JSON file that ``bench/kind_under_load.py`` summarises. The restart check and the stream-hub rollout
are left out (``restart=False, hub=False``, as the kind mutants): they re-run the same waits, twice as long.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Verdict, verdict_of
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.case import LiveCaseResult
from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.options import read_option
from quickmeet_conformance.subprocesses import die_with_parent, kill_group
from quickmeet_conformance.values import load_values

pytestmark = [pytest.mark.live, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "fixtures" / "charts" / "rocketchat"
# the docs' microservices example and a scaled one (presence 3, ddp-streamer 2, authorization 2): more
# nodes on the bus, so more that can answer late
RELEASES = ("seed-docs.yaml", "per-service-replicas.yaml")
HELMS = ("helm3", "helm4")
LOAD_BOUND_S = 3 * 3600  # stress-ng stops itself after this even if nothing else stops it
FAILED = (Verdict.FAIL, Verdict.ERROR)


@contextmanager
def saturated_cpu() -> Iterator[str]:
    """stress-ng with one CPU worker per core for the block (started here, stopped here by its PID)."""
    binary = shutil.which("stress-ng")
    if binary is None:
        reason = "stress-ng is not installed (scripts/install-probe-tools.sh installs it)"
        if os.environ.get("QMC_REQUIRE_KIND") or os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    cores = os.cpu_count() or 1
    proc = subprocess.Popen(
        [binary, "--cpu", str(cores), "--timeout", f"{LOAD_BOUND_S}s", "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        yield f"stress-ng --cpu {cores} (pid {proc.pid})"
    finally:
        kill_group(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait(timeout=10)


def _record(run: int, values: str, helm: str, result: LiveCaseResult, seconds: float) -> dict[str, object]:
    verdicts = {rule: verdict_of(findings).value for rule, findings in sorted(result.findings.items())}
    failed = {
        rule: [f.message for f in findings if f.verdict in FAILED]
        for rule, findings in sorted(result.findings.items())
        if verdict_of(findings) in FAILED
    }
    return {
        "run": run,
        "values": values,
        "helm": helm,
        "seconds": round(seconds, 1),
        "verdicts": verdicts,
        "failed": failed,
        "waits": [
            {
                "what": w.what,
                "seconds": round(w.seconds, 3),
                "met": w.met,
                "deadline_s": round(w.deadline_s, 1),
            }
            for w in result.waits
        ],
        "log": result.log if failed else [],
    }


def test_correct_releases_give_the_same_verdicts_under_load(
    kind_lane: LiveLane, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    runs = read_option(request.config, "qmc_kind_repeat") or 1
    if runs < 1:
        raise pytest.UsageError(f"--kind-repeat {runs}: must be at least 1")
    record_path = read_option(request.config, "qmc_kind_repeat_record")
    records: list[dict[str, object]] = []
    with saturated_cpu() as load:
        for run in range(1, runs + 1):
            helm_name = HELMS[(run - 1) % len(HELMS)]
            helm = resolve_helm(str(REPO / ".tools" / "bin" / helm_name))
            chart = load_chart(str(CHART), version=None, helm_path=helm.path, workdir=tmp_path)
            for values in RELEASES:
                start = time.monotonic()
                result = kind_lane.install_scenario(
                    f"repeat{run}-{Path(values).stem}",
                    chart,
                    load_values(REPO / "fixtures" / "values" / values),
                    helm,
                    restart=False,
                    hub=False,
                )
                try:
                    records.append(_record(run, values, helm_name, result, time.monotonic() - start))
                finally:
                    kind_lane.release_case(result)
                if record_path:  # after every case: an interrupted loop still leaves what it measured
                    Path(record_path).write_text(json.dumps({"load": load, "runs": records}, indent=1))
    false_failures = [r for r in records if r["failed"]]
    assert not false_failures, "a correct release failed under load:\n" + "\n".join(
        f"run {r['run']} {r['values']} ({r['helm']}): {json.dumps(r['failed'])}\n  " + "\n  ".join(r["log"])  # type: ignore[arg-type]
        for r in false_failures
    )
    for values in RELEASES:
        seen = {json.dumps(r["verdicts"], sort_keys=True) for r in records if r["values"] == values}
        assert len(seen) == 1, f"{values}: the verdicts differ between runs: {sorted(seen)}"
