"""The HTTP API's app factory: ``create_app(settings)`` builds the FastAPI application ``rag serve``
runs from the routers in ``api.routes``, with its lifespan (the pipeline loaded at startup,
closed at shutdown), middleware (``api.middleware``) and exception handlers (``api.errors``).

Routes: ``/v1/query``, ``/v1/documents`` (upload, list, text, delete), the OpenAI-compatible
``/v1/chat/completions`` and ``/v1/models``, ``/health``, ``/ready``, the web page at ``/`` and
the OpenAPI docs at ``/docs``. Errors are JSON ``{"error": {"message", "type", "code"}}`` (the
shape OpenAI clients read) with the status that says why: 400/413/415/422 for bad input, 401
without a valid key, 404, 409 while another process writes the index, 502 when the language
model fails, 503 for questions before an index exists. Library errors are translated at the
boundary (``api.errors``). ``get_pipeline`` (``api.deps``) is re-exported here for tests' overrides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from api.deps import get_pipeline
from api.errors import ApiError, add_exception_handlers
from api.middleware import BodyLimit, InFlight, InFlightLimit, KeyCheck, RateLimit, SecurityHeaders
from api.observability import Metrics, Observe
from api.routes.documents import documents_router
from api.routes.openai import openai_router
from api.routes.query import query_router
from api.routes.service import mount_static, service_router
from api.schemas import ErrorResponse
from api.state import Pipeline
from rag.errors import ConfigError
from rag.settings import Settings

__all__ = ["ApiError", "create_app", "get_pipeline"]


def create_app(settings: Settings, *, pipeline: Pipeline | None = None) -> FastAPI:
    """The application over ``settings`` (keys, limits) and ``pipeline``: the models and the index,
    built by the composition root (``rag serve``: ``Pipeline(settings, Factory(settings))``) and
    loaded at startup (lifespan) unless already loaded; closed at shutdown. Without a pipeline the
    app starts only when a test swaps ``get_pipeline`` through ``app.dependency_overrides``."""
    app = FastAPI(
        title="rag-cite",
        summary="Answers from your documents, with checked citations.",
        description="Question answering over Chinese and English documents: every answer cites where it comes from, "
        "and abstains when the documents do not say. `/v1/chat/completions` speaks OpenAI's protocol for chat frontends.",
        version=_version(),
        lifespan=_lifespan(pipeline),
        docs_url=None,  # served by api.routes.service from local files: the CDN FastAPI uses is out of reach offline
        redoc_url=None,
        responses={400: {"model": ErrorResponse, "description": "Unreadable request"}, 422: {"model": ErrorResponse, "description": "Malformed request"}},
    )
    # Outermost last: Observe, SecurityHeaders, KeyCheck, RateLimit, InFlightLimit, BodyLimit, the routes.
    app.state.in_flight = InFlight(settings.in_flight_limit)
    app.state.metrics = Metrics(in_flight=lambda: app.state.in_flight.active, index_version=lambda: _version_number(app))
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes, idle_timeout=settings.body_timeout_s)
    app.add_middleware(InFlightLimit, counter=app.state.in_flight)
    if settings.rate_limit_per_minute:
        app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute)
    app.add_middleware(KeyCheck, keys=[(k.key.get_secret_value().encode(), k.scope) for k in settings.api_keys], failures_per_minute=settings.auth_failures_per_minute)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"], max_age=600,
        )
    app.add_middleware(Observe, metrics=app.state.metrics)  # outermost of ours: sees every answer, CORS's too
    add_exception_handlers(app)
    app.include_router(service_router())
    mount_static(app)
    app.include_router(query_router(settings))
    app.include_router(documents_router(settings))
    app.include_router(openai_router(settings))
    if not settings.api_keys:
        app.openapi = lambda: _without_security(app)  # type: ignore[method-assign]
    return app


def _lifespan(pipeline: Pipeline | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Loads ``pipeline`` at startup (in a thread) and closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if get_pipeline in app.dependency_overrides:  # a test swapped the pipeline: load nothing
            yield
            return
        if pipeline is None:
            raise ConfigError("create_app needs a pipeline: api.state.Pipeline(settings, components), as 'rag serve' builds it")
        await run_in_threadpool(pipeline.load)
        app.state.pipeline = pipeline
        try:
            yield
        finally:
            pipeline.close()

    return lifespan


def _without_security(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema of a server without keys: no operation asks for one."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.pop("security", None)
                operation.get("responses", {}).pop("401", None)
        schema.get("components", {}).pop("securitySchemes", None)
        app.openapi_schema = schema
    return app.openapi_schema


def _version_number(app: FastAPI) -> int:
    """The served index version's number (v000007: 7; 0 without an index)."""
    pipeline: Pipeline | None = getattr(app.state, "pipeline", None)
    try:
        version = pipeline.store.current_version() if pipeline is not None else None
    except Exception:  # noqa: BLE001 - a metrics scrape must not fail on a damaged CURRENT
        return 0
    return int(version[1:]) if version else 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rag-cite")
    except PackageNotFoundError:
        return "0"
