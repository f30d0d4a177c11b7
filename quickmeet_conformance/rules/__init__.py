"""Where rules are, and loading them. Rule modules register themselves in ``engine.RULES`` when imported.

The static lane's rules are the modules of this package (all but ``engine`` and ``context``). Every other
lane keeps its rules in its own package, beside the data they judge: ``upgrade/rules/``, ``live/rules/``,
``probes/rules/``; so this package imports no lane, and a static check (``conformance check``, the static
suites) pays for importing no other lane's machinery. ``load_lane(lane)`` imports one lane's rule modules,
``load_all`` every lane's. Modules load in name order, which is the order rules register (and reports list
them). A new rule module needs no list: it is found here (tests/rules/test_loading.py checks it).
"""

import importlib
import pkgutil

NOT_RULES = frozenset({"engine", "context"})  # the engine and each lane's context register no rule
# each lane's rule package, named (not imported) here: the lanes build on the engine, not the other way
LANE_PACKAGES = {
    "static": __name__,
    "upgrade": "quickmeet_conformance.upgrade.rules",
    "live": "quickmeet_conformance.live.rules",
    "probes": "quickmeet_conformance.probes.rules",
}


def _modules(package: str) -> list[str]:
    """The rule modules directly in ``package``, in name order (a lane's package holds no subpackage)."""
    path = importlib.import_module(package).__path__
    return [
        f"{package}.{module.name}"
        for module in sorted(pkgutil.iter_modules(path), key=lambda m: m.name)
        if module.name not in NOT_RULES and not module.ispkg
    ]


def load_lane(lane: str) -> None:
    """Import the rule modules of ``lane`` (static, upgrade, live, probes)."""
    try:
        package = LANE_PACKAGES[lane]
    except KeyError:
        raise ValueError(f"no rules lane {lane!r}: choose from {', '.join(LANE_PACKAGES)}") from None
    for name in _modules(package):
        importlib.import_module(name)


def load_all() -> None:
    for lane in LANE_PACKAGES:
        load_lane(lane)
