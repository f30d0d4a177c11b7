"""Live rules: what a release does on a real API server (CONTRACT.md), read from a :class:`LiveContext`.

Each module is one group of rules (``availability``: workloads, Services, Ingress and TRANSPORTER resolve to
ready pods; ``changes``: rollouts and upgrades; ``drift``: hand edits). They register when imported
(``rules.load_lane``, in module-name order); ``context`` holds the lane's context and registers nothing.
"""
