"""The live lane's conformance tests."""
