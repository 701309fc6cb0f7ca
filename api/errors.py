"""What errors mean over HTTP: the one mapping from this project's errors to status codes, the
JSON error body ``{"error": {"message", "type", "code"}}`` (the shape OpenAI clients read), and
the exception handlers that answer with it (:func:`add_exception_handlers`).

Library errors carry no HTTP status; :data:`STATUS_OF` decides it here, at the boundary, by the
error's type (the nearest class in its MRO that the table names).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import (
    ClientGoneError,
    ConfigError,
    DeadlineExceededError,
    GenerationError,
    IndexLockedError,
    IndexStoreError,
    NotReadyError,
    QuestionError,
    RAGError,
    UploadError,
)

__all__ = ["KINDS", "RETRY_AFTER", "STATUS_OF", "ApiError", "add_exception_handlers", "error_response", "status_of", "translate"]

log = logging.getLogger("rag.api")

# Each status's OpenAI-style error type.
KINDS: dict[int, str] = {
    400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 405: "invalid_request_error",
    409: "conflict", 413: "invalid_request_error", 415: "invalid_request_error", 422: "invalid_request_error",
    429: "rate_limit_error", 499: "client_closed_request", 500: "server_error", 502: "upstream_error", 503: "not_ready",
}

# Seconds a client should wait before retrying, by status (sent as Retry-After).
RETRY_AFTER: dict[int, int] = {429: 1, 503: 1}
WRITER_RETRY_AFTER = 2  # a 409 because another process holds the index's writer lock

# Our errors as HTTP statuses. Anything not named (nor a subclass of something named) is a 500.
STATUS_OF: dict[type[RAGError], int] = {
    QuestionError: 422,        # the client's question: empty, too long, bad top_k
    UploadError: 400,          # an uploaded file that cannot be taken (its name)
    NotReadyError: 503,        # no index yet: upload documents first
    IndexLockedError: 409,     # another process is writing the index
    IndexStoreError: 503,      # the index cannot be read: missing, damaged, built by another embedder
    GenerationError: 502,      # the language model behind us failed
    DeadlineExceededError: 503,  # past the per-request deadline: try again later
    ClientGoneError: 499,      # nobody is left to read it (nginx's "client closed request")
    ConfigError: 500,          # the server's configuration
}


class ApiError(Exception):
    """An error response: status, one-line message, OpenAI-style type, extra headers."""

    def __init__(self, status: int, message: str, kind: str | None = None, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or KINDS.get(status, "invalid_request_error")
        self.details = details
        self.headers = headers


def error_response(status: int, message: str, kind: str | None = None, details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message, "type": kind or KINDS.get(status, "invalid_request_error"), "code": status}
    if details:
        body["details"] = details
    if status in RETRY_AFTER and not (headers and "Retry-After" in headers):
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER[status])}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def status_of(exc: RAGError) -> int:
    """The HTTP status of one of our errors."""
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def translate(exc: RAGError) -> ApiError:
    """A library error as the HTTP error a client should see (a busy writer lock: retry shortly)."""
    headers = {"Retry-After": str(WRITER_RETRY_AFTER)} if isinstance(exc, IndexLockedError) else None
    return ApiError(status_of(exc), str(exc), "timeout" if isinstance(exc, DeadlineExceededError) else None, headers=headers)


def add_exception_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into the JSON error body with its status."""
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RAGError, _rag_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.message, exc.kind, exc.details, (headers or {}) | (exc.headers or {}) or None)


async def _rag_error(request: Request, exc: RAGError) -> JSONResponse:
    api = translate(exc)
    if isinstance(exc, DeadlineExceededError):
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    elif api.status >= 500 and api.status != 503:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return error_response(api.status, api.message, api.kind, headers=api.headers)


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": _friendly(e), "type": str(e.get("type", ""))} for e in exc.errors()]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    if first["type"] == "json_invalid":
        return error_response(400, f"the body is not valid JSON: {first['msg']}", "invalid_request_error", details)
    where = ".".join(p for p in first["loc"] if p != "body") or "request"
    return error_response(422, f"invalid request: {where}: {first['msg']}", "invalid_request_error", details)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else "error"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
    if exc.status_code == 405:
        # Allow: every method of the path (each method is its own route, so Starlette names one)
        allowed = sorted({m for r in request.app.routes if isinstance(r, APIRoute) and r.path_regex.match(request.url.path) for m in r.methods or ()})
        if not allowed and request.url.path.startswith("/static/"):
            allowed = ["GET", "HEAD"]
        headers = {"Allow": ", ".join(allowed)}
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
    return error_response(exc.status_code, detail, KINDS.get(exc.status_code, "invalid_request_error"), headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, f"internal error: {type(exc).__name__}", "server_error")


_SETTING_OF = {"question": "max_question_chars", "top_k": "max_top_k", "content": "max_turn_chars"}
_LIST_SETTING_OF = {"history": ("turns", "max_history_turns"), "messages": ("messages", "max_history_turns")}


def _friendly(error: Any) -> str:
    """Pydantic's message, said plainly for the limits a client meets most."""
    field = str(error.get("loc", ("",))[-1])
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if field == "question" and kind == "string_pattern_mismatch":
        return "the question is empty"
    if kind == "string_too_long" and field in _SETTING_OF:
        return f"longer than the limit of {ctx.get('max_length')} characters (setting {_SETTING_OF[field]})"
    if kind == "too_long" and field in _LIST_SETTING_OF:
        what, setting = _LIST_SETTING_OF[field]
        return f"more {what} than the limit of {ctx.get('max_length')} (setting {setting})"
    if kind == "less_than_equal" and field in _SETTING_OF:
        return f"over the limit of {ctx.get('le')} (setting {_SETTING_OF[field]})"
    return str(error.get("msg", "invalid"))
