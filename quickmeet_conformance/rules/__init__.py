"""Rule modules register themselves in ``engine.RULES`` when imported: every module of this package but the
engine is one. ``load_all`` imports each; ``load_lane("static")`` all but the upgrade and live lanes' own, so a
static check (``conformance check``, the static suites) does not pay for importing those lanes. A new rule
module needs no list: it is found here (tests/static/test_model_units.py checks both load the same static rules).
"""

import importlib
import pkgutil

NOT_RULES = frozenset({"engine"})
OTHER_LANES = frozenset(
    {"upgrade_rules", "live_rules", "probe_rules"}
)  # modules that import their lane's machinery


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in NOT_RULES)


def load_all() -> None:
    for name in _modules():
        importlib.import_module(f"{__name__}.{name}")


def load_lane(lane: str) -> None:
    """Import the rule modules ``lane`` needs (every module for lanes other than static)."""
    if lane != "static":
        load_all()
        return
    for name in _modules():
        if name not in OTHER_LANES:
            importlib.import_module(f"{__name__}.{name}")
