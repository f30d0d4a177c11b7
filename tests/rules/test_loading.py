"""Rule modules are found without a list: ``rules.load_lane`` imports what a lane needs, and a static check
imports no other lane's machinery."""

from __future__ import annotations

import subprocess
import sys

_RUN = (
    "import sys; from quickmeet_conformance import rules; from quickmeet_conformance.rules.engine import RULES; "
    "rules.load_lane('static') if sys.argv[1] == 'lane' else rules.load_all(); "
)


def _python(code: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", _RUN + code, *args], capture_output=True, text=True, timeout=60, check=True
    ).stdout


def test_static_lane_loading_registers_every_static_rule():
    """rules.load_lane("static") (what a static check imports) registers exactly the static rules of load_all."""
    code = "print(sorted(r.id for r in RULES.values() if r.lane == 'static'))"
    lane, every = (_python(code, which) for which in ("lane", "all"))
    assert lane == every, "a static rule module is not found by rules.load_lane('static')"


def test_static_lane_imports_no_other_lane():
    """A static check pays for neither the live nor the upgrade machinery (nor their rule modules)."""
    code = (
        "print(sorted(m for m in sys.modules if m.startswith(('quickmeet_conformance.live', "
        "'quickmeet_conformance.upgrade', 'quickmeet_conformance.probes'))))"
    )
    assert _python(code, "lane").strip() == "[]"


def test_every_lane_registers_its_own_rules():
    """Each lane's rule modules register rules of that lane only (a lane package holds one lane)."""
    code = (
        "import collections; lanes = collections.defaultdict(set)\n"
        "for r in RULES.values(): lanes[r.check.__module__.split('.')[1]].add(r.lane)\n"
        "print(sorted((m, sorted(ls)) for m, ls in lanes.items()))"
    )
    assert _python(code, "all").strip() == (
        "[('live', ['live']), ('probes', ['probes']), ('rules', ['static']), ('upgrade', ['upgrade'])]"
    ), "each lane's package (live/rules, probes/rules, upgrade/rules) registers its own lane's rules only"
