"""When a request's work must stop: :class:`Deadline`.

The service checks its deadline between stages (rewriting a follow-up, retrieval, answering,
each released sentence of a stream); past it, or once the client is gone, the next check raises
and nothing after it runs. A stage already running (an embedding call, a model call with its own
timeout) finishes first: the deadline bounds the work to one stage past the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rag.errors import ClientGoneError, DeadlineExceededError

__all__ = ["Deadline"]


class Deadline:
    """``seconds`` from now (None: never), cancellable from another thread (:meth:`cancel`)."""

    def __init__(self, seconds: float | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError(f"a deadline needs a positive number of seconds, got {seconds}")
        self.seconds = seconds
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds
        self._cancelled: str | None = None

    def cancel(self, reason: str) -> None:
        """Stop the work at its next check (a plain assignment: safe from any thread)."""
        self._cancelled = reason

    @property
    def cancelled(self) -> bool:
        return self._cancelled is not None

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a limit."""
        return None if self._at is None else max(0.0, self._at - self._clock())

    def check(self, stage: str) -> None:
        """Raise :class:`ClientGoneError` once cancelled, :class:`DeadlineExceededError` once past
        the deadline; ``stage`` names what would run next."""
        if self._cancelled is not None:
            raise ClientGoneError(f"{self._cancelled}: stopped before {stage}")
        if self._at is not None and self._clock() >= self._at:
            raise DeadlineExceededError(f"the request took longer than {self.seconds:g} s (setting request_timeout_s): stopped before {stage}")
