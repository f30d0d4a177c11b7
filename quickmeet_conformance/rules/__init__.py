"""Rule modules register themselves in ``engine.RULES`` when imported; ``load_all`` imports each one.

``load_lane("static")`` imports only the static lane's modules: a static check (``conformance check``, the
static suites) does not pay for importing the upgrade and live lanes. tests/static/test_model_units.py
proves it registers exactly the static rules ``load_all`` does: a new static rule module goes in both.
"""

STATIC_MODULES = ("components", "hygiene", "ingress", "kube_schema", "services", "streamhub", "values_rules", "wiring")


def load_all() -> None:
    from . import (  # noqa: F401
        components,
        hygiene,
        ingress,
        kube_schema,
        live_rules,  # noqa: F401
        rollout,
        services,
        streamhub,
        upgrade_rules,  # noqa: F401
        values_rules,
        wiring,
    )


def load_lane(lane: str) -> None:
    """Import the rule modules of ``lane`` (every module for lanes other than static)."""
    if lane != "static":
        load_all()
        return
    import importlib

    for name in STATIC_MODULES:
        importlib.import_module(f"{__name__}.{name}")
