"""A request's work stops soon after its client disconnects (api.work.run_bounded)."""

from __future__ import annotations

import time

import anyio
import pytest

from rag.deadline import Deadline
from rag.errors import ClientGoneError


class LeavingRequest:
    """A request whose client disconnects after ``after`` seconds."""

    def __init__(self, after: float) -> None:
        self.gone_at = time.monotonic() + after

    async def is_disconnected(self) -> bool:
        return time.monotonic() >= self.gone_at


def test_work_for_a_client_that_disconnects_stops_at_its_next_check() -> None:
    from api.work import run_bounded

    deadline = Deadline(30.0)
    checks: list[float] = []

    def work() -> str:
        while True:  # a long job that checks its deadline between steps
            checks.append(time.monotonic())
            deadline.check("the next step")
            time.sleep(0.02)

    started = time.monotonic()
    with pytest.raises(ClientGoneError, match="the client disconnected"):
        anyio.run(run_bounded, LeavingRequest(0.3), deadline, work)  # type: ignore[arg-type]
    assert time.monotonic() - started < 2.0, "stopped soon after the client left, not at the deadline"
    assert checks[-1] - started >= 0.3
