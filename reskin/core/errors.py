"""Errors a user can cause and fix: one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path


class ReskinError(Exception):
    """A problem with the user's input or library, reported as one line (exit code 2).

    ``file`` and ``field`` say where; the message says what is wrong and what was expected.
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str | Path | None = None, field: str | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(self.field)
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class MissingExtra(ReskinError):
    """An optional dependency is not installed; names the extra that provides it."""

    def __init__(self, package: str, extra: str):
        super().__init__(
            f"{package} is not installed; install it with: pip install 'reskin[{extra}]'"
        )
