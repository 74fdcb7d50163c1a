"""Errors of the compiler, each pointing at a reproducer."""

from __future__ import annotations


class CompileError(RuntimeError):
    """A compilation stage failed.

    `stage` names it, `input_path` holds the IR it received, and `command` is
    the `pattern-opt` command line that reproduces the failure.
    """

    def __init__(
        self, stage: str, message: str, input_path: str | None = None, command: str | None = None
    ):
        self.stage, self.message, self.input_path, self.command = (
            stage,
            message,
            input_path,
            command,
        )
        text = f"stage '{stage}' failed: {message}"
        if input_path:
            text += f"\n  its input IR was saved to {input_path}"
        if command:
            text += f"\n  reproduce with: {command}"
        super().__init__(text)
