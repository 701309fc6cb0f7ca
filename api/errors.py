"""What errors mean over HTTP: the one mapping from this project's errors to status codes, and the
JSON error body ``{"error": {"message", "type", "code"}}`` (the shape OpenAI clients read).

Library errors carry no HTTP status; :data:`STATUS_OF` decides it here, at the boundary, by the
error's type (the nearest class in its MRO that the table names).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from rag.errors import (
    ConfigError,
    GenerationError,
    IndexLockedError,
    IndexStoreError,
    NotReadyError,
    QuestionError,
    RAGError,
    UploadError,
)

__all__ = ["KINDS", "STATUS_OF", "ApiError", "error_response", "status_of", "translate"]

# Each status's OpenAI-style error type.
KINDS: dict[int, str] = {
    400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 405: "invalid_request_error",
    409: "conflict", 413: "invalid_request_error", 415: "invalid_request_error", 422: "invalid_request_error",
    500: "server_error", 502: "upstream_error", 503: "not_ready",
}

# Our errors as HTTP statuses. Anything not named (nor a subclass of something named) is a 500.
STATUS_OF: dict[type[RAGError], int] = {
    QuestionError: 422,        # the client's question: empty, too long, bad top_k
    UploadError: 400,          # an uploaded file that cannot be taken (its name)
    NotReadyError: 503,        # no index yet: upload documents first
    IndexLockedError: 409,     # another process is writing the index
    IndexStoreError: 503,      # the index cannot be read: missing, damaged, built by another embedder
    GenerationError: 502,      # the language model behind us failed
    ConfigError: 500,          # the server's configuration
}


class ApiError(Exception):
    """An error response: status, one-line message, OpenAI-style type."""

    def __init__(self, status: int, message: str, kind: str | None = None, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or KINDS.get(status, "invalid_request_error")
        self.details = details


def error_response(status: int, message: str, kind: str | None = None, details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message, "type": kind or KINDS.get(status, "invalid_request_error"), "code": status}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def status_of(exc: RAGError) -> int:
    """The HTTP status of one of our errors."""
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def translate(exc: RAGError) -> ApiError:
    """A library error as the HTTP error a client should see."""
    return ApiError(status_of(exc), str(exc))
