"""Serving the app with uvicorn, guarded against clients that hold connections open.

uvicorn closes idle keep-alive connections, but has no limit on how long a client may take to
send a request's headers: a client that sends them a byte at a time holds its connection (and a
socket) as long as it likes. :func:`guarded_h11` is uvicorn's h11 protocol with that limit: a
connection whose request head is not complete ``header_timeout`` seconds after it opened (or
after the previous response ended) is closed. Bodies are timed by ``api.middleware.BodyLimit``.

:func:`serve` runs the app with it, and with uvicorn's graceful shutdown: on SIGTERM or Ctrl-C
it stops accepting connections, lets requests in flight finish for ``grace`` seconds, then exits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["guarded_h11", "log_config", "serve"]


def guarded_h11(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request head takes over ``header_timeout`` s."""

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(header_timeout, self._head_too_slow)

        def _head_too_slow(self) -> None:
            # IDLE: no complete request head since the connection opened or the last response ended
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.logger.info("closing a connection whose request headers took over %g s", header_timeout)
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

    return GuardedH11Protocol


def log_config(level: str) -> dict[str, Any]:
    """Every log line with its time, level, request id and logger: uvicorn's, ours (``rag.api``) and
    the JSON access log (``rag.access``, which replaces uvicorn's access log)."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.observability.RequestIdFilter"}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "rag")
        },
    }


def serve(app: Any, *, host: str, port: int, log_level: str, header_timeout: float, grace: int) -> None:
    """Run ``app`` until SIGTERM or Ctrl-C, then finish in-flight requests for ``grace`` seconds."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, http=guarded_h11(header_timeout), timeout_graceful_shutdown=grace,
        log_config=log_config(log_level), access_log=False,
    )
    uvicorn.Server(config).run()
