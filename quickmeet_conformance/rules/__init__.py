"""Rule modules register themselves in ``engine.RULES`` when imported: every module of this package but the
engine and the lanes' ``context`` modules is one, and the ``live`` and ``upgrade`` packages hold one module
per group of their lane's rules. ``load_all`` imports each; ``load_lane("static")`` all but the other lanes'
own, so a static check (``conformance check``, the static suites) does not pay for importing those lanes.
Modules load in name order, which is the order rules register (and reports list them). A new rule module
needs no list: it is found here (tests/rules/test_loading.py checks both load the same static rules).
"""

import importlib
import pkgutil

NOT_RULES = frozenset({"engine", "context"})  # the engine and each lane's context register no rule
OTHER_LANES = frozenset(
    {"upgrade", "live", "probe_rules"}
)  # modules/packages that import their lane's machinery


def _modules(package: str = __name__) -> list[str]:
    """The rule modules directly in ``package``; a subpackage stands for its own rule modules."""
    path = importlib.import_module(package).__path__
    found = []
    for module in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if module.name in NOT_RULES:
            continue
        name = f"{package}.{module.name}"
        found += _modules(name) if module.ispkg else [name]
    return found


def load_all() -> None:
    for name in _modules():
        importlib.import_module(name)


def load_lane(lane: str) -> None:
    """Import the rule modules ``lane`` needs (every module for lanes other than static)."""
    if lane != "static":
        load_all()
        return
    for name in _modules():
        if name.split(".")[2] not in OTHER_LANES:
            importlib.import_module(name)
