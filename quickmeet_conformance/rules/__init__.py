"""Rule modules register themselves in ``engine.RULES`` when imported; ``load_all`` imports each one."""


def load_all() -> None:
    from . import components, hygiene, ingress, kube_schema, rollout, services, streamhub, values_rules, wiring  # noqa: F401
    from . import upgrade_rules  # noqa: F401
    from . import live_rules  # noqa: F401
