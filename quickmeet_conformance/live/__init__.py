"""The live lane: install (or read) a release on a cluster, observe it, then evaluate the live rules.

values -> helm install/upgrade (``release.py``) -> watches and snapshots (``clusters/kubeclient.py``, ``state.py``)
-> observations (``scenario.py``, ``audit.py``) -> live rules (``live/rules/``) -> findings.

Rules never call the cluster or helm: the scenario observes everything first and hands the rules a
:class:`~quickmeet_conformance.live.state.LiveView`.
"""
