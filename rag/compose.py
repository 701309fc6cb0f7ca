"""Building the pipeline from settings: the one place the CLI and the HTTP API both get their
question-answering service from, so ``rag ask`` and ``rag serve`` answer alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.protocols import Embedder
    from rag.service import QAService
    from rag.settings import Settings
    from rag.store import IndexSnapshot

__all__ = ["llm_generator", "qa_service", "redacted_url"]


def llm_generator(settings: Settings) -> Any:
    """The configured LLM generator (openai or gguf), its sentences checked by the offline judge;
    ``None`` for the extractive generator. A gguf generator owns a local server: keep it alive as
    long as the generator."""
    if settings.generator == "extractive":
        return None
    from rag.langchain_adapters import ChatModelGenerator, chat_model_from_settings

    if settings.generator == "gguf":
        from rag.local_llm import LocalGGUFServer

        assert settings.gguf_path is not None
        server = LocalGGUFServer(settings.gguf_path, context=settings.gguf_context, threads=settings.embed_threads)
        model = chat_model_from_settings(settings, base_url=server.base_url, model=server.model_name, api_key=server.api_key)
        generator = ChatModelGenerator(model, unsupported=settings.unsupported, backend=f"gguf {settings.gguf_path.name}")
        generator.server = server  # type: ignore[attr-defined]  # keeps the in-process server alive with the generator
        return generator
    return ChatModelGenerator(
        chat_model_from_settings(settings), unsupported=settings.unsupported,
        backend=f"openai {settings.llm_model} at {redacted_url(settings.llm_base_url or '')}",
    )


def redacted_url(url: str) -> str:
    """The URL without what may be a secret (user:password@, a query string): error messages and
    logs name the backend, and reach HTTP clients."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "(a malformed URL)"


def qa_service(snapshot: IndexSnapshot, embedder: Embedder, settings: Settings, llm: Any = None) -> QAService:
    """The service over one index snapshot: ``llm`` (from :func:`llm_generator`) writes the answers
    when given, with the extractive generator as the fallback when the settings ask for one."""
    from rag.answering import ExtractiveGenerator
    from rag.service import QAService

    fallback = ExtractiveGenerator(embedder, snapshot) if llm is not None and settings.fallback == "extractive" else None
    return QAService(
        snapshot, embedder, generator=llm, fallback=fallback, rewriter=llm,
        top_k=settings.top_k, max_question_chars=settings.max_question_chars,
    )
