"""What the server tells its operators: a request id on every response and log line, one
structured access-log line per request, and Prometheus metrics at ``/metrics``.

:class:`Observe` is the outermost middleware: it takes the client's ``X-Request-ID`` (when it is a
short token) or makes one, puts it in a context variable that the logging filter
(:class:`RequestIdFilter`) adds to every record (worker threads inherit it), answers with it in
``X-Request-ID``, writes ``{"request_id", "method", "path", "route", "status", "ms", "client"}``
to the ``rag.access`` logger, and counts the request in the app's own registry (one per app, so
tests can build many). ``/metrics`` is served from that registry, behind the key when keys are set.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REQUEST_ID", "Metrics", "Observe", "RequestIdFilter", "metrics_response"]

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("rag.access")


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) for the log format's ``%(request_id)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class Metrics:
    """The server's metrics, in a registry of its own."""

    def __init__(self, in_flight: Callable[[], int], index_version: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rag_requests", "HTTP requests answered, by route, method and status.", ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram(
            "rag_request_seconds", "Time to answer, by route.", ["route"], registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
        )
        self.refused = Counter("rag_requests_refused", "Requests refused before any work: busy (503), rate limited (429).", ["reason"], registry=self.registry)
        gauge = Gauge("rag_requests_in_flight", "API requests being answered now.", registry=self.registry)
        gauge.set_function(lambda: float(in_flight()))
        version = Gauge("rag_index_version", "The number of the index version being served (0: no index yet).", registry=self.registry)
        version.set_function(lambda: float(index_version()))
        self.ingested_files = Counter("rag_ingested_files", "Uploaded files, by outcome (ingested, skipped).", ["outcome"], registry=self.registry)
        self.ingested_chunks = Counter("rag_ingested_chunks", "Chunks added by uploads.", registry=self.registry)


def metrics_response(metrics: Metrics) -> tuple[bytes, str]:
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST


class Observe:
    """Request id, access log and request metrics for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or ("static" if scope["path"].startswith("/static") else "unmatched")
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            if status in (429, 503) and scope["path"].startswith("/v1/"):
                self.metrics.refused.labels("rate_limited" if status == 429 else "busy_or_timeout").inc()
            client = scope.get("client")
            access_log.info(json.dumps({
                "request_id": request_id, "method": scope["method"], "path": scope["path"], "route": route, "status": status,
                "ms": round(elapsed * 1000, 1), "client": client[0] if client else None,
            }, ensure_ascii=False))
            REQUEST_ID.reset(token)
