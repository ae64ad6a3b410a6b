"""The error hierarchy: user errors (fixable by the person) apart from system errors."""

from __future__ import annotations


class DlcoreError(Exception):
    """Base class of every error the engine raises on purpose."""


class UserError(DlcoreError):
    """Something the person gave us is wrong; the message says what, what we expected, and the fix.

    ``received`` describes what arrived, ``expected`` what would have worked and ``fix`` what to do.
    ``str(error)`` joins them into one message that can be shown as it is.
    """

    def __init__(self, received: str, *, expected: str = "", fix: str = "") -> None:
        self.received = received
        self.expected = expected
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.received.rstrip()]
        if self.expected:
            parts.append(f"Expected {self.expected.rstrip('.')}.")
        if self.fix:
            fix = self.fix.rstrip(".")
            parts.append(f"Fix: {fix[0].lower() + fix[1:] if fix else fix}.")
        return " ".join(parts)


class UnsupportedFileError(UserError):
    """A file of a kind we do not read."""


class BadUploadError(UserError):
    """A file of a kind we read, but broken, empty, too large or otherwise unusable."""


class SchemaMismatchError(UserError):
    """Records that do not fit a model's or dataset's schema (missing columns, wrong types)."""


class InvalidSpecError(UserError):
    """A model specification with an invalid or inconsistent setting."""


class NotFoundError(UserError):
    """A model, dataset or job id that does not exist."""


class ConfigError(UserError):
    """A malformed setting in the environment or configuration."""


class PermissionDeniedError(UserError):
    """The acting account's role does not allow this action (checked by the engine itself)."""
