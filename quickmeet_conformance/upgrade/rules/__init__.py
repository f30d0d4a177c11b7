"""Upgrade-path rules (CONTRACT.md > Upgrades): what ``helm upgrade`` from one render to another breaks.

Each rule reads an :class:`~.context.UpgradeContext` (both sides, the plan, the to-side rendered twice, the
to-side's static lane). The modules are groups of rules (``fields``: what the API server accepts;
``persistence``: what must survive; ``target``: the release after the upgrade; ``values``: values across
chart versions); they register when imported (``rules.load_lane``, in module-name order, which is the order
reports list them). ``context`` holds the lane's context and registers nothing. Secret values are never
printed, only masked.
"""
