"""Helpers of the hostile-input suite (tests/hostile)."""

from __future__ import annotations

from dlcore.errors import UserError


def assert_refusal(exc: UserError, *words: str) -> None:
    """A refusal the person can act on: received, 'Expected …', 'Fix: …', and the given words."""
    message = exc.message
    assert exc.received and exc.expected and exc.fix, message
    assert "Expected" in message and "Fix:" in message, message
    for word in words:
        assert word.lower() in message.lower(), (word, message)
