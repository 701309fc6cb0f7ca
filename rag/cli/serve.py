"""``rag serve``: the HTTP API, the OpenAI-compatible endpoint and the web page, over objects
built by the factory and handed to the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rag.cli.common import Context, generation_options, index_option
from rag.errors import ConfigError

__all__ = ["serve"]


@click.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface; set api_keys first).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@generation_options
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info", show_default=True, help="Server log level.")
@click.pass_obj
def serve(obj: Context, /, index_dir: Path | None, host: str, port: int, log_level: str, **generation: Any) -> None:
    """Serve the HTTP API, an OpenAI-compatible endpoint and a web page.

    \b
    http://HOST:PORT/                      a chat page: ask, see citations, upload documents
    POST /v1/query                         an answer with citations (as 'rag ask --json')
    POST /v1/chat/completions, /v1/models  OpenAI's protocol, for Open WebUI, LibreChat, ...
    /v1/documents                          upload (multipart), list, text, delete
    /health, /ready, /docs                 liveness, readiness, the OpenAPI docs
    /metrics                               Prometheus metrics (keyed when keys are set)

    Same index and settings as the other commands. Models load once, at startup; a new index
    version (an upload here, or 'rag ingest' elsewhere) is picked up by the next request. With
    the setting api_keys (env RAG_API_KEYS=key1,key2) every endpoint but the page
    (/, /static/*), the docs (/docs, /openapi.json), /health and /ready
    needs 'Authorization: Bearer KEY'; keys may be scoped to collections
    (RAG_API_KEYS='{"KEY": {"read": ["hr"], "write": []}}': docs/api.md).

    Bounded by settings: a deadline per request (request_timeout_s, 503), requests in flight
    (max_in_flight, 503 at once), rate limits (429), time-outs for headers and bodies, conversation
    sizes (422); SIGTERM finishes requests in flight for shutdown_grace_s. docs/api.md lists them.
    """
    import socket

    from api.app import create_app
    from api.server import serve as serve_app
    from api.state import Pipeline

    factory = obj.factory(index_dir=index_dir, **generation)  # generation: the options of generation_options
    settings = factory.settings
    try:  # a port in use is one clear line, before the models load
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = str(exc.strerror or exc).split(" (while attempting")[0]
        raise ConfigError(f"cannot listen on {host}:{port}: {reason} (choose another --host or --port)") from exc
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.api_keys:
        click.echo(f"rag: warning: listening on {host} without API keys: anyone who can reach it can read and change the index (set api_keys)", err=True)
    # Load everything before listening, so that a bad index or model is one clear line, not a traceback.
    click.echo(f"rag: loading models and the index {settings.index_dir} ...", err=True)
    pipeline = Pipeline(settings, factory)
    try:
        pipeline.load()
    except BaseException:
        pipeline.close()
        raise
    if not pipeline.store.exists():
        click.echo(f"rag: no index yet at {settings.index_dir}: upload documents (page or POST /v1/documents) to create it", err=True)
    click.echo(f"rag: serving {settings.index_dir} on http://{host}:{port}/ (API docs at /docs); Ctrl-C stops", err=True)
    serve_app(create_app(settings, pipeline=pipeline), host=host, port=port, log_level=log_level,
              header_timeout=settings.header_timeout_s, grace=settings.shutdown_grace_s)
