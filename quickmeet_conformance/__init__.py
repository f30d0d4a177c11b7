"""QuickMeet.Chat conformance: values -> rendered manifests -> topology -> rules -> findings -> reports."""

__version__ = "0.1.0"
