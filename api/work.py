"""A request's work, off the event loop and bounded: it runs in a worker thread under a
:class:`rag.deadline.Deadline` (setting request_timeout_s), and the deadline is cancelled as soon
as the client disconnects, so the work stops at its next stage instead of running on for nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from fastapi import Request

from rag.deadline import Deadline

__all__ = ["POLL_S", "run_bounded"]

T = TypeVar("T")

POLL_S = 0.1  # how often a running request looks for its client's disconnect


async def run_bounded(request: Request, deadline: Deadline, work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; meanwhile, a client that disconnects cancels ``deadline``
    (the work raises :class:`rag.errors.ClientGoneError` at its next check)."""

    async def watch() -> None:
        while not deadline.cancelled:
            await anyio.sleep(POLL_S)
            if await request.is_disconnected():
                deadline.cancel("the client disconnected")

    done: list[T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            done.append(await anyio.to_thread.run_sync(work))
        except Exception as exc:  # raised below, outside the task group (which would wrap it in a group)
            failed.append(exc)
        finally:
            group.cancel_scope.cancel()
    if failed:
        raise failed[0]
    return done[0]
