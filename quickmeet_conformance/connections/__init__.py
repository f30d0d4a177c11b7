"""Connections, client against server: what each component presents to MongoDB and NATS, and what the
server of the same release accepts (CONTRACT.md > Connections).

The static lane gathers one :class:`~.model.Connections` observation per case (:mod:`.gather`): it reads
each connection value as the real client does (pymongo's URI parser, the NATS clients' URL rules), resolves
its hosts to the release's Services, reads the bundled servers' accounts from the render, and lets a real
``nats-server`` judge the NATS credentials. Rules (``rules/connections*.py``) only read that observation;
they import :mod:`.model` and nothing here that starts a process.
"""
