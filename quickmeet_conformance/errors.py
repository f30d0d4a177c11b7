"""User-facing errors: a mistake in the user's input, reported as one clear line, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave us (a file, a chart, a flag, a tool on PATH).

    ``str()`` is the single line the user sees: what is wrong, where, and what to do.
    """

    def __init__(self, what: str, *, where: str = "", fix: str = "") -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text += f" ({self.fix})"
        return text


class ToolError(UserError):
    """A required external tool (helm, kubectl, nats-server, ...) is missing, too old, hung or failed."""


class RenderError(UserError):
    """The chart could not be rendered for a values file (helm template failed, e.g. the chart's `fail`)."""
