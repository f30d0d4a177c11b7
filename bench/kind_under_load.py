"""The kind scenario's correct releases N times with the CPU saturated (issue 24): the false-failure rate and
the slowest wait behind each rule.

    .venv/bin/python bench/kind_under_load.py [--runs 20] [--record reports/kind-under-load.json] [-- pytest args]
    .venv/bin/python bench/kind_under_load.py --summarize reports/kind-under-load.json

Runs ``tests/kind/test_kind_repeat.py --kind-repeat N`` once (one kind cluster, ``qmc-waits-bench``, the
releases installed N times each under stress-ng), which records every case's verdicts and waits; then
prints per run the time and any failed rule, and in the end:

- false failures: cases of a correct release with a FAIL or ERROR verdict, out of all cases (and runs);
- verdict drift: a rule whose verdict differed between runs of the same values file;
- the slowest wait per rule: the longest any wait a rule's verdict depends on took, against its deadline
  (a wait close to its deadline is a verdict a busier machine could still turn).

Exits non-zero on any false failure or drift. Needs root, dockerd, the local kind images
(scripts/build-kind-node-image.sh, scripts/build-app-images.sh) and stress-ng.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quickmeet_conformance.subprocesses import run as run_child  # noqa: E402  # after sys.path

# which waits each rule's verdict depends on (the rollout comes first for every rule of a live case)
BUS_DISCOVERY_RULES = (
    "bus.service-announced",
    "bus.node-count-matches-pods",
    "bus.node-maps-to-pod",
    "bus.hub-single",
    "bus.monolith-not-duplicating",
    "bus.protocol-version",
)


def waits_of_rule(rule: str) -> tuple[str, ...]:
    """The waits (by their ``what``) a rule's verdict depends on, besides the install rollout."""
    if rule in BUS_DISCOVERY_RULES:
        return ("bus discovery",)
    if rule == "bus.ping-pong":
        return ("bus discovery", "bus ping")
    if rule == "bus.heartbeats":
        return ("bus discovery", "bus heartbeats")
    if rule.startswith("ws."):
        return ("ingress routes the WebSocket paths",)
    return ()


def summarize(record: dict[str, Any]) -> int:
    runs: list[dict[str, Any]] = record.get("runs", [])
    if not runs:
        print("no case was recorded")
        return 1
    print(f"load: {record.get('load', '?')}")
    for case in runs:
        failed = ", ".join(sorted(case["failed"])) or "ok"
        slow = max(case["waits"], key=lambda w: w["seconds"], default=None)
        slowest = (
            f"slowest wait {slow['what']} {slow['seconds']:.1f}s/{slow['deadline_s']:.0f}s" if slow else ""
        )
        print(
            f"run {case['run']:2d} {case['values']:28s} {case['helm']}: {case['seconds']:6.1f}s  {failed}  {slowest}"
        )
    cases = len(runs)
    false = [c for c in runs if c["failed"]]
    run_ids = {c["run"] for c in runs}
    failed_runs = {c["run"] for c in false}
    drift = []
    by_values: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for case in runs:
        by_values[case["values"]].append(case)
    for values, cases_of in by_values.items():
        for rule in sorted({r for c in cases_of for r in c["verdicts"]}):
            seen = {c["verdicts"].get(rule, "absent") for c in cases_of}
            if len(seen) > 1:
                drift.append(f"{values} {rule}: {sorted(seen)}")
    print(
        f"\n{len(run_ids)} run(s), {cases} case(s): false failures in {len(false)} case(s) "
        f"({100.0 * len(false) / cases:.1f}%), {len(failed_runs)} run(s); verdict drift: {len(drift)}"
    )
    for line in drift:
        print(f"  drift: {line}")
    for case in false:
        print(
            f"  false failure: run {case['run']} {case['values']} ({case['helm']}): {json.dumps(case['failed'])}"
        )
    slowest: dict[str, dict[str, Any]] = {}
    for case in runs:
        for wait in case["waits"]:
            if wait["seconds"] > slowest.get(wait["what"], {"seconds": -1.0})["seconds"]:
                slowest[wait["what"]] = {**wait, "values": case["values"], "run": case["run"]}
    print("\nslowest wait of each kind (all runs): seconds / deadline, where")
    for what, wait in sorted(slowest.items()):
        print(
            f"  {what:38s} {wait['seconds']:7.2f}s / {wait['deadline_s']:5.0f}s  "
            f"(run {wait['run']}, {wait['values']}{'' if wait['met'] else ', NOT met'})"
        )
    rules = sorted({r for c in runs for r in c["verdicts"]})
    rollout = slowest.get("install rollout")
    print("\nslowest wait per rule (the install rollout precedes every rule):")
    for rule in rules:
        mine = [slowest[w] for w in waits_of_rule(rule) if w in slowest]
        worst = max(mine, key=lambda w: w["seconds"], default=rollout)
        if worst is not None:
            print(f"  {rule:44s} {worst['what']:38s} {worst['seconds']:7.2f}s / {worst['deadline_s']:5.0f}s")
    return 1 if false or drift else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--record", type=Path, default=REPO / "reports" / "kind-under-load.json")
    parser.add_argument("--summarize", type=Path, help="only summarise an existing record")
    parser.add_argument("extra", nargs="*", help="more pytest arguments")
    args = parser.parse_args()
    if args.summarize:
        return summarize(json.loads(args.summarize.read_text()))
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "tests/kind/test_kind_repeat.py",
        "-p",
        "no:cacheprovider",
        "-q",
        "--cluster",
        "kind",
        "--kind-images",
        "local",
        "--cluster-name",
        "qmc-waits-bench",
        "--kind-repeat",
        str(args.runs),
        "--kind-repeat-record",
        str(args.record),
        *args.extra,
    ]
    start = time.monotonic()
    # a Ctrl-C or SIGTERM gives the run time to delete its cluster
    proc = run_child(argv, cwd=REPO, timeout_s=args.runs * 1200 + 900, grace_s=120)
    print(f"pytest exit {proc.returncode} after {time.monotonic() - start:.0f}s")
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
    print("\n".join(f"  {line}" for line in tail))
    if not args.record.exists():
        print(f"no record at {args.record}: the loop never finished a case")
        return 1
    return summarize(json.loads(args.record.read_text())) or (1 if proc.returncode else 0)


if __name__ == "__main__":
    raise SystemExit(main())
