"""The probes lane's conformance tests."""
