"""The upgrade lane's conformance tests."""
