"""The conformance suites: run from the checkout (pytest suites/) or installed
(pytest --pyargs quickmeet_conformance.suites)."""
