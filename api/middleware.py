"""ASGI middleware that answers before a route runs: the body size limit and the time a body may
take between chunks, the API key check with its limit on failed attempts, the rate limit per
key (or client address), and the bound on requests in flight."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable

import anyio
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from rag.access import FULL
from rag.access import Scope as KeyScope

__all__ = ["PUBLIC", "PUBLIC_PREFIXES", "SCOPE_KEY", "BodyLimit", "InFlight", "InFlightLimit", "KeyCheck", "RateLimit", "TokenBuckets", "is_public", "key_scope", "valid_key"]

PUBLIC = ("/", "/health", "/ready", "/docs", "/openapi.json")
PUBLIC_PREFIXES = ("/static/", "/static-docs/")


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413: by Content-Length before reading, and
    by counting for chunked bodies (the handler never sees more than the limit). A body that stops
    arriving (no chunk for ``idle_timeout`` seconds; a Content-Length longer than what is sent) is
    answered 408 and its connection closed."""

    def __init__(self, app: ASGIApp, limit: int, idle_timeout: float = 15.0) -> None:
        self.app = app
        self.limit = limit
        self.idle_timeout = idle_timeout

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
        complete = False

        async def counted() -> Message:
            nonlocal seen, complete
            if complete:  # after the body: waiting for a disconnect, untimed
                return await receive()
            try:
                with anyio.fail_after(self.idle_timeout):
                    msg = await receive()
            except TimeoutError:
                # an HTTPException, which FastAPI lets through its body parsing (other errors become 400)
                raise StarletteHTTPException(
                    408, f"the request body stopped arriving (nothing for {self.idle_timeout:g} s)", headers={"Connection": "close"}
                ) from None
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                complete = not msg.get("more_body", False)
                if seen > self.limit:
                    raise StarletteHTTPException(413, message)
            return msg

        await self.app(scope, counted, send)


class TokenBuckets:
    """A token bucket per client: ``per_minute`` tokens, refilled evenly; :meth:`take` spends one,
    or says how many seconds until one is back. Idle full buckets are forgotten."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def _tokens(self, client: str, now: float) -> float:
        tokens, when = self._buckets.get(client, (self.capacity, now))
        return min(self.capacity, tokens + (now - when) * self.rate)

    def wait(self, client: str) -> float:
        """Seconds until ``client`` has a token (0: it has one now)."""
        tokens = self._tokens(client, self.clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, client: str) -> float:
        """Spend a token of ``client``: 0 when there was one, else the seconds until there is one."""
        now = self.clock()
        tokens = self._tokens(client, now)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= self.max_clients and client not in self._buckets:
            self._forget_full(now)
        self._buckets[client] = (tokens - 1.0, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        for client in [c for c in self._buckets if self._tokens(c, now) >= self.capacity]:
            del self._buckets[client]


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _too_many(wait: float, message: str) -> ASGIApp:
    return error_response(429, message, "rate_limit_error", headers={"Retry-After": str(max(1, math.ceil(wait)))})


class KeyCheck:
    """With API keys configured, refuses every request but the public ones (the page, its files,
    the docs, /health, /ready) without a valid ``Authorization: Bearer KEY``, before its body is
    read. (The routes also declare the key, for the OpenAPI schema.) A client address whose
    failed attempts use up ``failures_per_minute`` gets 429 for every keyed request until its
    bucket refills: guessing keys stays slow."""

    def __init__(self, app: ASGIApp, keys: list[bytes] | list[tuple[bytes, KeyScope]], failures_per_minute: int = 10) -> None:
        self.app = app
        self.scoped = [k if isinstance(k, tuple) else (k, FULL) for k in keys]  # each key with the collections it may read and write
        self.keys = [k for k, _ in self.scoped]
        self.failures = TokenBuckets(failures_per_minute) if failures_per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.keys:
            scope[SCOPE_KEY] = FULL  # no keys: everyone may read and change everything
        if scope["type"] != "http" or not self.keys or is_public(scope["path"]) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        if self.failures is not None and (wait := self.failures.wait(address)) > 0:
            await _too_many(wait, "too many requests with a wrong API key from this address: wait before trying again")(scope, receive, send)
            return
        header = dict(scope.get("headers", [])).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        matched = key_scope(given.strip(), self.scoped) if scheme.lower() == b"bearer" else None
        if matched is None:
            if self.failures is not None:
                self.failures.take(address)
            response = error_response(401, "a valid API key is required: send 'Authorization: Bearer KEY'", "authentication_error",
                              headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        scope[SCOPE_KEY] = matched  # the routes read it (api.deps.get_scope): what this caller may see and change
        await self.app(scope, receive, send)


class RateLimit:
    """``per_minute`` requests to the API per key (the bearer token; the client address when the
    request has none), beyond which 429 with ``Retry-After``. The page, its files, the docs and the
    health checks are not counted. Keys are checked before (KeyCheck): only valid keys get here."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers", [])).get(b"authorization", b"")
        token = header.partition(b" ")[2].strip()
        who = "key:" + hashlib.sha256(token).hexdigest()[:32] if token else "address:" + client_address(scope)
        wait = self.buckets.take(who)
        if wait > 0:
            await _too_many(wait, f"rate limit: {int(self.buckets.capacity)} requests a minute (setting rate_limit_per_minute)")(scope, receive, send)
            return
        await self.app(scope, receive, send)


class InFlight:
    """The requests being answered and those turned away (shared by the limit and /metrics)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {limit}")
        self.limit = limit
        self.active = 0
        self.refused = 0


class InFlightLimit:
    """At most ``counter.limit`` API requests (``/v1/*``) answered at once; the next one gets 503
    with ``Retry-After`` at once instead of waiting in a queue. A streamed answer counts until its
    last event."""

    def __init__(self, app: ASGIApp, counter: InFlight) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        counter = self.counter
        if counter.active >= counter.limit:  # one event loop: nothing runs between the check and the count
            counter.refused += 1
            message = f"the server is busy: {counter.limit} requests are being answered (setting max_in_flight); retry shortly"
            await error_response(503, message, "server_busy")(scope, receive, send)
            return
        counter.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            counter.active -= 1


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def valid_key(given: bytes, keys: list[bytes]) -> bool:
    return key_scope(given, [(k, FULL) for k in keys]) is not None


def key_scope(given: bytes, keys: list[tuple[bytes, KeyScope]]) -> KeyScope | None:
    """The scope of the key ``given`` is (None: no key). Compared with every key, so the time taken
    does not tell which one nearly matched, nor which matched."""
    found: KeyScope | None = None
    for key, scope in keys:
        if secrets.compare_digest(given, key) and given:
            found = scope
    return found


SCOPE_KEY = "rag.key_scope"  # where KeyCheck leaves the caller's scope in the ASGI scope


# The page and its files need nothing inline and nothing from elsewhere.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` and ``X-Frame-Options`` on every
    response; :data:`PAGE_CSP` (no inline script, ``frame-ancestors 'none'``) on every response that
    does not set its own Content-Security-Policy (``/docs`` sets one allowing its one inline script
    by hash)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
