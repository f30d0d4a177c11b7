"""The static lane's conformance tests."""
