"""The service routes: the web page at ``/``, the OpenAPI docs at ``/docs`` (Swagger UI's files
served from the fastapi-offline package: no CDN; no ReDoc, which loads a logo from its CDN),
``/health``, ``/ready``, ``/metrics`` (Prometheus), and the static mounts (``/static``, ``/static-docs``)."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
import base64
import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.deps import PipelineDep, ScopeDep
from api.errors import ApiError
from api.middleware import PAGE_CSP
from api.observability import metrics_response
from api.schemas import ErrorResponse, Health, Ready

__all__ = ["DOCS_ASSETS", "STATIC", "mount_static", "service_router"]

STATIC = Path(__file__).parent.parent / "static"
DOCS_ASSETS = Path(str(resources.files("fastapi_offline") / "static"))  # Swagger UI (Apache-2.0), packaged by fastapi-offline (MIT)


def mount_static(app: FastAPI) -> None:
    """The page's files and Swagger UI's (mounts live on the app: routers do not carry them)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/static-docs", StaticFiles(directory=DOCS_ASSETS), name="static-docs")


def service_router() -> APIRouter:
    router = APIRouter()

    @router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @router.get("/docs", include_in_schema=False)
    def swagger() -> Any:
        from fastapi.openapi.docs import get_swagger_ui_html

        page = get_swagger_ui_html(openapi_url="/openapi.json", title="rag-cite API", swagger_js_url="/static-docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static-docs/swagger-ui.css", swagger_favicon_url="/static-docs/favicon.png")
        # Swagger UI starts from one inline script: allowed by its hash, nothing else inline
        html = bytes(page.body).decode()
        inline = [m.group(1) for m in re.finditer(r"<script>(.*?)</script>", html, re.S)]
        hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()}'" for code in inline)
        page.headers["Content-Security-Policy"] = PAGE_CSP.replace("script-src 'self'", f"script-src 'self' {hashes}")
        return page

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request, scope: ScopeDep) -> Response:
        """Prometheus metrics (behind the key when keys are set; only for a key that reads and
        writes every collection: the counts are the whole index's)."""
        if not scope.everything:
            raise ApiError(403, "/metrics is for keys that may read and change every collection", "permission_error")
        body, content_type = metrics_response(request.app.state.metrics)
        return Response(body, media_type=content_type)

    @router.api_route("/health", methods=["GET", "HEAD"], response_model=Health, tags=["service"], summary="Liveness: the process answers")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.api_route("/ready", methods=["GET", "HEAD"], response_model=Ready, response_model_exclude_none=True, tags=["service"], summary="Readiness: models and an index are loaded",
                      responses={503: {"model": ErrorResponse, "description": "Models loading, or no index yet"}})
    def ready(p: PipelineDep) -> dict[str, Any]:
        return p.status()

    return router
