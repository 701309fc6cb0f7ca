"""The HTTP API: ``create_app(settings)`` builds the FastAPI application ``rag serve`` runs.

Routes: ``/v1/query``, ``/v1/documents`` (upload, list, text, delete), the OpenAI-compatible
``/v1/chat/completions`` and ``/v1/models``, ``/health``, ``/ready``, the web page at ``/`` and
the OpenAPI docs at ``/docs`` (Swagger UI's files served from the fastapi-offline package: no
CDN; no ReDoc, which loads a logo from its CDN). Errors are JSON ``{"error": {"message", "type", "code"}}`` (the
shape OpenAI clients read) with the status that says why: 400/413/415/422 for bad input, 401
without a valid key, 404, 409 while another process writes the index, 502 when the language
model fails, 503 for questions before an index exists. Library errors are translated here, at the boundary.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route signatures, and the
# request models built in create_app() (with the settings' limits) are local names.
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import openai_compat as oa
from api.errors import KINDS, ApiError, error_response, translate
from api.middleware import BodyLimit, KeyCheck
from api.schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    DeleteOut,
    DocumentList,
    DocumentText,
    ErrorResponse,
    Health,
    ModelList,
    QueryRequest,
    QueryResponse,
    Ready,
    UploadOut,
)
from api.state import Pipeline, document_dict, safe_filename
from api.streaming import SSE_HEADERS, stream_answer, stream_text
from rag.errors import ConfigError, NotReadyError, RAGError
from rag.settings import Settings

__all__ = ["create_app", "ApiError"]

log = logging.getLogger("rag.api")
STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = Path(str(resources.files("fastapi_offline") / "static"))  # Swagger UI (Apache-2.0), packaged by fastapi-offline (MIT)


def create_app(settings: Settings, *, pipeline: Pipeline | None = None) -> FastAPI:
    """The application over ``settings`` (keys, limits) and ``pipeline``: the models and the index,
    built by the composition root (``rag serve``: ``Pipeline(settings, Factory(settings))``) and
    loaded at startup (lifespan) unless already loaded; closed at shutdown. Without a pipeline the
    app starts only when a test swaps ``get_pipeline`` through ``app.dependency_overrides``."""

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

    app = FastAPI(
        title="rag-cite",
        summary="Answers from your documents, with checked citations.",
        description="Question answering over Chinese and English documents: every answer cites where it comes from, "
        "and abstains when the documents do not say. `/v1/chat/completions` speaks OpenAI's protocol for chat frontends.",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,  # served below from local files: the CDN FastAPI uses is out of reach offline
        redoc_url=None,
        responses={400: {"model": ErrorResponse, "description": "Unreadable request"}, 422: {"model": ErrorResponse, "description": "Malformed request"}},
    )
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(KeyCheck, keys=[k.get_secret_value().encode() for k in settings.api_keys])
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"], max_age=600,
        )

    # -- errors --------------------------------------------------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.message, exc.kind, exc.details, headers)

    @app.exception_handler(RAGError)
    async def _rag_error(request: Request, exc: RAGError) -> JSONResponse:
        api = translate(exc)
        if api.status >= 500 and api.status != 503:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return error_response(api.status, api.message, api.kind)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": _friendly(e), "type": str(e.get("type", ""))} for e in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        if first["type"] == "json_invalid":
            return error_response(400, f"the body is not valid JSON: {first['msg']}", "invalid_request_error", details)
        where = ".".join(p for p in first["loc"] if p != "body") or "request"
        return error_response(422, f"invalid request: {where}: {first['msg']}", "invalid_request_error", details)

    @app.exception_handler(StarletteHTTPException)
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}", "server_error")

    # The key is checked by KeyCheck, before the body is read; this declares it in the OpenAPI schema.
    Keyed = [Depends(_bearer)]
    errors: dict[int | str, dict[str, Any]] = {r: {"model": ErrorResponse} for r in (401, 503)}

    # -- public ----------------------------------------------------------------------------

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/static-docs", StaticFiles(directory=DOCS_ASSETS), name="static-docs")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> Any:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/openapi.json", title="rag-cite API", swagger_js_url="/static-docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static-docs/swagger-ui.css", swagger_favicon_url="/static-docs/favicon.png")

    @app.api_route("/health", methods=["GET", "HEAD"], response_model=Health, tags=["service"], summary="Liveness: the process answers")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/ready", methods=["GET", "HEAD"], response_model=Ready, tags=["service"], summary="Readiness: models and an index are loaded",
             responses={503: {"model": ErrorResponse, "description": "Models loading, or no index yet"}})
    def ready(p: PipelineDep) -> dict[str, Any]:
        return p.status()

    # -- questions -------------------------------------------------------------------------

    # The request model with this server's limits, so that /openapi.json states them.
    Query = create_model(
        "QueryRequest",
        __base__=QueryRequest,
        question=(str, Field(min_length=1, max_length=settings.max_question_chars, pattern=r"\S",
                             description=f"The question (at most {settings.max_question_chars:,} characters: setting max_question_chars).")),
        top_k=(int | None, Field(None, ge=1, le=settings.max_top_k, strict=True, description=f"Passages to read (1 to {settings.max_top_k}: setting max_top_k).")),
    )

    def _limits(top_k: int | None) -> None:
        if top_k is not None and top_k > settings.max_top_k:
            raise ApiError(422, f"top_k {top_k} is over the limit of {settings.max_top_k} (setting max_top_k)")

    @app.post("/v1/query", response_model=QueryResponse, response_model_exclude_none=True, tags=["questions"],
              summary="Answer a question from the documents, with citations", dependencies=Keyed, responses=errors | {502: {"model": ErrorResponse}})
    def query(request: Query, p: PipelineDep) -> dict[str, Any]:  # type: ignore[valid-type]  # a model built above, with this server's limits
        from rag.service import answer_to_dict

        body = cast(QueryRequest, request)
        _limits(body.top_k)
        service = p.service()
        history = [(t.role, t.content) for t in body.history]
        answer, ranking = service.ask_ranked(body.question, top_k=body.top_k, sources=body.sources or None, history=history)
        if body.passages:
            from dataclasses import replace

            answer = replace(answer, passages=tuple(ranking))
        return answer_to_dict(answer, passages=body.passages)

    # -- documents -------------------------------------------------------------------------

    @app.get("/v1/documents", response_model=DocumentList, tags=["documents"], summary="List the indexed sources", dependencies=Keyed, responses=errors)
    def list_documents(p: PipelineDep) -> dict[str, Any]:
        try:
            snapshot = p.snapshot()
        except NotReadyError:
            return {"documents": [], "index_version": None}
        return {"documents": [document_dict(s) for s in snapshot.sources()], "index_version": snapshot.version}

    @app.get("/v1/documents/{document_id}/text", response_model=DocumentText, tags=["documents"],
             summary="A source's stored text (citation offsets index into it)", dependencies=Keyed, responses=errors | {404: {"model": ErrorResponse}})
    def document_text(document_id: str, p: PipelineDep) -> dict[str, Any]:
        snapshot = p.snapshot()
        record = next((s for s in snapshot.sources() if s.source_id == document_id), None)
        if record is None:
            raise ApiError(404, f"no document with id {document_id!r}", "not_found_error")
        return {"id": record.source_id, "name": Path(record.path).name, "source": record.path, "text": snapshot.source_text(document_id)}

    @app.delete("/v1/documents/{document_id}", response_model=DeleteOut, tags=["documents"], summary="Remove a source from the index",
                dependencies=Keyed, responses=errors | {404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
    def delete_document(document_id: str, p: PipelineDep) -> dict[str, Any]:
        try:
            return p.delete(document_id)
        except KeyError:
            raise ApiError(404, f"no document with id {document_id!r}", "not_found_error") from None

    @app.post("/v1/documents", response_model=UploadOut, status_code=201, tags=["documents"],
              summary="Upload and ingest files (txt, md, html, pdf, docx, json, jsonl)", dependencies=Keyed,
              responses=errors | {r: {"model": ErrorResponse} for r in (400, 409, 413, 415)})
    async def upload(files: Annotated[list[UploadFile], File(description="One or more files.")], p: PipelineDep) -> Any:
        from ingest.loaders import SUPPORTED_SUFFIXES

        if not files:
            raise ApiError(422, "no files: send one or more as multipart field 'files'")
        names = []
        for f in files:
            name = safe_filename(f.filename)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
                raise ApiError(415, f"{name}: unsupported kind of file '{suffix or '(no extension)'}'; supported: {kinds}")
            if f.size is not None and f.size > settings.max_file_bytes:
                raise ApiError(413, f"{name}: {f.size / 1048576:.1f} MB is over the limit of {settings.max_file_mb:g} MB (setting max_file_mb)")
            names.append(name)
        if len(set(names)) != len(names):
            raise ApiError(400, "two files have the same name: upload them separately or rename one")
        staging = await run_in_threadpool(p.staging_dir)
        try:
            staged = [(name, await run_in_threadpool(_stage, f, staging / name, settings)) for name, f in zip(names, files)]
            result = await run_in_threadpool(p.ingest_uploads, staged)
        finally:
            await run_in_threadpool(p.discard, staging)
        body = {"documents": result.documents, "skipped": result.skipped, "index_version": result.index_version, "seconds": result.seconds}
        if not result.documents:
            reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in result.skipped)
            raise ApiError(422, f"nothing ingested: {reasons}", details=result.skipped)
        return body

    # -- OpenAI-compatible -------------------------------------------------------------------

    @app.get("/v1/models", response_model=ModelList, tags=["openai"], summary="The model this server offers", dependencies=Keyed, responses=errors)
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": oa.MODEL_ID, "object": "model", "created": 0, "owned_by": "rag-cite"}]}

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        tags=["openai"],
        summary="OpenAI-compatible chat: the last user message is answered from the documents",
        dependencies=Keyed,
        responses=errors | {400: {"model": ErrorResponse}, 502: {"model": ErrorResponse},
                            200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "With stream: server-sent events, ending with data: [DONE]"}},
    )
    def chat_completions(body: ChatCompletionRequest, p: PipelineDep) -> Any:
        model = body.model or oa.MODEL_ID
        chore = oa.housekeeping_reply(body.messages)
        if chore is not None:
            _task, content = chore
            if body.stream:
                return stream_text(content, model)
            return oa.completion(content, model, citations=[], sources=[], rag=None)
        try:
            question, history = oa.split_messages(body.messages)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        service = p.service()
        question = service.check_question(question)
        if body.stream:
            events = service.stream(question, history=history)
            # The first event before the status line: a model that is down is a 502, not a 200 stream.
            first = next(events, None)
            return StreamingResponse(stream_answer(first, events, question, model), media_type="text/event-stream", headers=SSE_HEADERS)
        from rag.service import answer_to_dict

        answer = service.ask(question, history=history)
        rag = answer_to_dict(answer)
        return oa.completion(answer.text + oa.sources_markdown(answer), model, citations=rag["citations"], sources=oa.openwebui_sources(answer), rag=rag)

    if not settings.api_keys:
        app.openapi = lambda: _without_security(app)  # type: ignore[method-assign]
    return app


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


_bearer = HTTPBearer(auto_error=False, description="An API key from the setting api_keys (only when keys are configured).")


def get_pipeline(request: Request) -> Pipeline:
    found: Pipeline | None = getattr(request.app.state, "pipeline", None)
    if found is None or not found.loaded:
        raise ApiError(503, "the models are still loading", "not_ready")
    return found


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]


def _stage(upload: UploadFile, target: Path, settings: Settings) -> Path:
    """Copy an uploaded file (already spooled by the multipart parser) to ``target``, within the size limit."""
    name = target.name
    try:
        with target.open("wb") as out:
            upload.file.seek(0)
            while block := upload.file.read(1 << 20):
                out.write(block)
                if out.tell() > settings.max_file_bytes:
                    raise ApiError(413, f"{name}: over the limit of {settings.max_file_mb:g} MB (setting max_file_mb)")
    except OSError as exc:
        raise ApiError(400, f"{name}: cannot store this file name here ({exc.strerror or exc}): rename it") from exc
    return target


_SETTING_OF = {"question": "max_question_chars", "top_k": "max_top_k"}


def _friendly(error: Any) -> str:
    """Pydantic's message, said plainly for the limits a client meets most."""
    field = str(error.get("loc", ("",))[-1])
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if field == "question" and kind == "string_pattern_mismatch":
        return "the question is empty"
    if kind == "string_too_long" and field in _SETTING_OF:
        return f"longer than the limit of {ctx.get('max_length')} characters (setting {_SETTING_OF[field]})"
    if kind == "less_than_equal" and field in _SETTING_OF:
        return f"over the limit of {ctx.get('le')} (setting {_SETTING_OF[field]})"
    return str(error.get("msg", "invalid"))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rag-cite")
    except PackageNotFoundError:
        return "0"
