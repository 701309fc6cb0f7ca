"""ASGI middleware that answers before a route runs: the body size limit and the API key check."""

from __future__ import annotations

import secrets

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

__all__ = ["PUBLIC", "PUBLIC_PREFIXES", "BodyLimit", "KeyCheck", "is_public", "valid_key"]

PUBLIC = ("/", "/health", "/ready", "/docs", "/openapi.json")
PUBLIC_PREFIXES = ("/static/", "/static-docs/")


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413: by Content-Length before reading, and
    by counting for chunked bodies (the handler never sees more than the limit)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body is over the limit of {self.limit / 1048576:g} MB (setting max_request_mb)"
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    await error_response(400, "malformed Content-Length header", "invalid_request_error")(scope, receive, send)
                    return
                if too_big:
                    await error_response(413, message, "invalid_request_error", headers={"Connection": "close"})(scope, receive, send)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    # an HTTPException, which FastAPI lets through its body parsing (other errors become 400)
                    raise StarletteHTTPException(413, message)
            return msg

        await self.app(scope, counted, send)


class KeyCheck:
    """With API keys configured, refuses every request but the public ones (the page, its files,
    the docs, /health, /ready) without a valid ``Authorization: Bearer KEY``, before its body is
    read. (The routes also declare the key, for the OpenAPI schema.)"""

    def __init__(self, app: ASGIApp, keys: list[bytes]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or is_public(scope["path"]) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers", [])).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not valid_key(given.strip(), self.keys):
            response = error_response(401, "a valid API key is required: send 'Authorization: Bearer KEY'", "authentication_error",
                              headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def valid_key(given: bytes, keys: list[bytes]) -> bool:
    # compared with every key, so the time taken does not tell which one nearly matched
    return bool(given) and sum(secrets.compare_digest(given, k) for k in keys) > 0


