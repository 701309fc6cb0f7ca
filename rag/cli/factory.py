"""Every object the commands and the server use, built from settings in one place.

:class:`Factory` is the composition root's workshop: the CLI commands and ``rag serve`` (which
hands it to the HTTP API) get their embedder, index, retriever, generator, judge, follow-up
rewriter, question-answering service and ingestor from it, so ``rag ask`` and ``rag serve``
answer alike. It builds lazily and keeps what is costly (the embedding model, a local model
server), and :meth:`Factory.close` stops what runs (the local GGUF server): use it as a context
manager. The module-level ``build_*`` functions are the same recipes for callers that want one
object (benchmarks, tests, the LangChain example).

Only this package imports ``ingest``, ``eval`` and ``api``; the imports are inside the functions
so that ``rag --help`` stays instant.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from rag.errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from ingest.pipeline import Ingestor, IngestReport
    from rag.checking import FaithfulnessChecker, Judge
    from rag.checking.cascade import CascadeJudge
    from rag.checking.nli import CrossEncoderJudge
    from rag.followup import QuestionRewriter
    from rag.langchain_adapters import ChatModelGenerator
    from rag.local_llm import LocalGGUFServer
    from rag.protocols import Embedder, Generator, IndexView
    from rag.retrieval import Retriever
    from rag.service import QAService
    from rag.settings import Settings
    from rag.store import IndexStore

__all__ = [
    "Factory",
    "build_chat_model",
    "build_embedder",
    "build_ingestor",
    "build_store",
    "redacted_url",
]


def build_embedder(settings: Settings, *, query_cache: int = 64) -> Embedder:
    """The configured embedder. ``query_cache``: how many recent query vectors it keeps (0: none,
    for benchmarks that time embedding)."""
    from rag.embedders import E5Embedder, SentenceTransformerEmbedder

    if settings.embedder == "e5":
        return E5Embedder(threads=settings.embed_threads, batch_size=settings.embed_batch_size, query_cache=query_cache)
    if settings.embedder_model is None:  # Settings refuses this; a clear line if it ever gets here
        raise ConfigError("embedder 'sentence-transformers' needs embedder_model (a model name or a local directory)")
    return SentenceTransformerEmbedder(
        settings.embedder_model, batch_size=settings.embed_batch_size, threads=settings.embed_threads, device=settings.embed_device, query_cache=query_cache
    )


EMBEDDER_SETTINGS = ("embedder", "embedder_model", "embed_batch_size", "embed_threads", "embed_device")


def embedder_from(values: dict[str, Any]) -> Embedder:
    """The embedder of the settings ``values`` (:data:`EMBEDDER_SETTINGS`): how a Ray actor builds its own."""
    from rag.settings import Settings

    return build_embedder(Settings(**values), query_cache=0)


@functools.lru_cache(maxsize=8)  # once per process and value: threadpoolctl scans the loaded libraries
def limit_search_threads(threads: int) -> None:
    """The BLAS threads numpy uses for the dense scan, for this process (benchmarks/scale.py
    --threads: at 300k vectors 1 thread 50 ms, 2 threads 30 ms idle but 69 ms while e5 embeds)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


def build_store(settings: Settings, index_dir: Path | None = None) -> IndexStore:
    """The index directory of the settings (or ``index_dir``)."""
    from rag.index import MergePolicy
    from rag.index.ann import AnnConfig
    from rag.store import IndexStore

    limit_search_threads(settings.search_threads)
    policy = MergePolicy(factor=settings.merge_factor, floor=settings.merge_floor, background_rows=settings.merge_background_rows)
    ann = AnnConfig(
        min_rows=settings.ann_min_rows, m=settings.hnsw_m, ef_construction=settings.hnsw_ef_construction,
        ef_search=settings.hnsw_ef_search, build_threads=max(1, settings.embed_threads),
    )  # fmt: skip
    store = IndexStore(index_dir or settings.index_dir, keep_versions=settings.keep_versions, merge_policy=policy, ann=ann, keyword_prune_df=settings.keyword_prune_df)
    store.lock_wait = settings.writer_wait_s
    store.on_lock_wait = lambda seconds: print(
        f"rag: another process is writing to the index {store.root}; waiting up to {seconds:g} s for it to finish (--wait SECONDS, 0 to fail at once)",
        file=sys.stderr, flush=True,
    )  # fmt: skip
    return store


def build_ingestor(settings: Settings, *, embedder: Embedder | None = None, index_dir: Path | None = None) -> Ingestor:
    """The ingestor ``rag ingest`` uses: the settings' chunker, embedder (unless given) and index."""
    from ingest.chunking import SentenceChunker
    from ingest.limits import ParseLimits
    from ingest.pipeline import Ingestor

    chunker = SentenceChunker(settings.chunk_size, settings.chunk_overlap)
    return Ingestor(
        build_store(settings, index_dir),
        embedder or build_embedder(settings),
        chunker,
        chunker_config=chunker.config,
        max_file_bytes=settings.max_file_bytes,
        text_field=settings.json_text_field,
        commit_every=settings.commit_every,
        sentence_vectors=settings.sentence_vectors,
        word_vectors=settings.word_vectors,
        parse_limits=ParseLimits.for_file_limit(
            settings.max_file_bytes, isolate=settings.parse_isolation, timeout_s=settings.parse_timeout_s, memory_mb=settings.parse_memory_mb
        ),
    )


def build_chat_model(settings: Settings, *, base_url: str | None = None, model: str | None = None, api_key: str | None = None) -> BaseChatModel:
    """``ChatOpenAI`` for the configured OpenAI-compatible server (or the given ``base_url``/``model``)."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    key = api_key or (settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else "not-needed")
    return ChatOpenAI(
        base_url=base_url or settings.llm_base_url,
        model=model or settings.llm_model or "",
        api_key=SecretStr(key),
        timeout=settings.llm_timeout,
        max_retries=settings.llm_retries,
        temperature=0.0,
        max_completion_tokens=settings.llm_max_tokens,
    )


def redacted_url(url: str) -> str:
    """The URL without what may be a secret (user:password@, a query string): error messages and
    logs name the backend, and reach HTTP clients."""
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


class Factory:
    """Builds the pipeline's objects from ``settings``; keeps the embedder and the language model
    it built, and closes the local model server it started. ``embedder``/``llm`` may be given
    (tests and the server share already loaded ones)."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, llm: ChatModelGenerator | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._llm = llm
        self._llm_built = llm is not None
        self._nli: CrossEncoderJudge | None = None
        self._learned: CascadeJudge | None = None
        self._server: LocalGGUFServer | None = None

    # -- models -------------------------------------------------------------------------------

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = build_embedder(self.settings)
        return self._embedder

    def llm(self) -> ChatModelGenerator | None:
        """The configured language model (openai or gguf) as a generator whose sentences are
        checked; ``None`` for the extractive generator. A gguf model is served in this process
        until :meth:`close`."""
        if not self._llm_built:
            self._llm = self._build_llm()
            self._llm_built = True
        return self._llm

    def _build_llm(self) -> ChatModelGenerator | None:
        settings = self.settings
        if settings.generator == "extractive":
            return None
        from rag.langchain_adapters import ChatModelGenerator

        if settings.generator == "gguf":
            from rag.local_llm import LocalGGUFServer

            if settings.gguf_path is None:  # Settings refuses this
                raise ConfigError("generator 'gguf' needs gguf_path (a .gguf model file)")
            self._server = LocalGGUFServer(settings.gguf_path, context=settings.gguf_context, threads=settings.embed_threads)
            server = self._server
            model = build_chat_model(settings, base_url=server.base_url, model=server.model_name, api_key=server.api_key)
            backend = f"gguf {settings.gguf_path.name}"
            return ChatModelGenerator(model, unsupported=settings.unsupported, backend=backend, serves_it=server,
                                      checker=self._answer_checker(model, backend))
        model = build_chat_model(settings)
        backend = f"openai {settings.llm_model} at {redacted_url(settings.llm_base_url or '')}"
        return ChatModelGenerator(model, unsupported=settings.unsupported, backend=backend, checker=self._answer_checker(model, backend))

    def _answer_checker(self, model: BaseChatModel, backend: str) -> FaithfulnessChecker:
        """What checks the model's sentences before they are shown: the judge of setting ``judge``."""
        from rag.checking import FaithfulnessChecker

        if self.settings.judge == "llm":
            from rag.langchain_adapters import ChatModelJudge

            return FaithfulnessChecker(ChatModelJudge(model, backend=backend))
        return FaithfulnessChecker(self.judge(self.settings.judge))

    def judge(self, kind: Literal["offline", "learned", "llm", "nli"] | str = "offline", *, similarity: bool = False) -> Judge:
        """The faithfulness judge: offline (lexical; with the embedder's similarity if asked),
        learned (the lexical judge, then a cross-encoder trained by training/ for what it cannot
        settle: rag.checking.cascade; loaded once per factory), the configured language
        model (generator openai or gguf), or nli (the cross-encoder ``judge_model``, loaded once)."""
        from rag.checking import LexicalJudge

        if kind == "offline":
            return LexicalJudge(self.embedder() if similarity else None)
        if kind == "nli":
            if self._nli is None:
                from rag.checking.nli import CrossEncoderJudge

                if not self.settings.judge_model:
                    raise ConfigError("--judge nli needs a model: --judge-model NAME_OR_PATH (setting judge_model)")
                self._nli = CrossEncoderJudge(self.settings.judge_model, threshold=self.settings.judge_threshold or 0.5)
            return self._nli
        if kind == "learned":
            if self._learned is None:
                from rag.checking.cascade import CascadeJudge
                from rag.checking.learned import BUNDLED_JUDGE, LearnedJudge

                folder = Path(self.settings.judge_model) if self.settings.judge_model else BUNDLED_JUDGE
                cascade = CascadeJudge(LearnedJudge(folder), threshold=self.settings.judge_threshold)
                cascade.load()  # a missing or unknown model file fails here, not at the first reworded statement
                self._learned = cascade
            return self._learned
        if kind != "llm":
            raise ConfigError(f"unknown judge {kind!r}: offline, learned, llm or nli")
        llm = self.llm()
        if llm is None:
            raise ConfigError("--judge llm needs a language model: --generator openai (with --llm-base-url, --llm-model) or gguf (with --gguf)")
        from rag.langchain_adapters import ChatModelJudge

        return ChatModelJudge(llm.chat_model, backend=llm.backend)

    # -- the index and what reads it -------------------------------------------------------------

    def store(self, index_dir: Path | None = None) -> IndexStore:
        return build_store(self.settings, index_dir)

    def snapshot(self, *, check_embedder: bool = True, collections: Iterable[str] | None = None) -> IndexView:
        """The last committed index version (``collections``: as a caller who sees only those
        does); ``check_embedder`` refuses one built by another embedder."""
        snapshot = self.store().open(self.embedder().info if check_embedder else None)
        return snapshot if collections is None else _scoped(snapshot, collections)

    def retriever(self, snapshot: IndexView) -> Retriever:
        from rag.retrieval import HybridRetriever

        return HybridRetriever.over(snapshot, self.embedder())

    def rewriter(self) -> QuestionRewriter | None:
        """Who rewrites follow-up questions: the language model when there is one (else the
        service's rule-based rewriter)."""
        return self.llm()

    def qa_service(self, snapshot: IndexView, collections: Iterable[str] | None = None) -> QAService:
        """The service over one index snapshot (``collections``: over the sources of those alone,
        searched, counted and answered from as if the rest were not there, :mod:`rag.index.scoped`):
        the language model writes the answers when one is configured, with the extractive
        generator as the fallback when the settings ask for one."""
        from rag.answering import ExtractiveGenerator
        from rag.service import QAService

        if collections is not None:
            snapshot = _scoped(snapshot, collections)

        llm = self.llm()
        extractive = ExtractiveGenerator(self.embedder(), snapshot, max_sentences=self.settings.max_answer_sentences)
        generator: Generator = llm if llm is not None else extractive
        fallback = extractive if llm is not None and self.settings.fallback == "extractive" else None
        return QAService(
            snapshot, self.embedder(), retriever=self.retriever(snapshot), generator=generator, fallback=fallback,
            rewriter=self.rewriter(), top_k=self.settings.top_k, max_question_chars=self.settings.max_question_chars,
            max_turn_chars=self.settings.max_turn_chars, max_history_chars=self.settings.max_history_chars,
            max_history_turns=self.settings.max_history_turns,
        )

    def service(self, collections: Iterable[str] | None = None) -> QAService:
        """The service over the last committed index version (``collections``: over theirs alone)."""
        return self.qa_service(self.snapshot(), collections)

    def ingestor(self, index_dir: Path | None = None) -> Ingestor:
        return build_ingestor(self.settings, embedder=self.embedder(), index_dir=index_dir)

    def ray_ingest(self, ingestor: Ingestor, paths: list[Path], **kwargs: Any) -> IngestReport:
        """``rag ingest --engine ray``: parse and embed on Ray, write here (ingest.ray_engine)."""
        from ingest.ray_engine import RayOptions, ray_ingest

        settings = self.settings
        gpu = settings.embedder == "sentence-transformers" and (settings.embed_device.startswith("cuda") or settings.embed_device == "auto")
        options = RayOptions(
            address=settings.ray_address, actors=settings.ray_actors, cpus_per_actor=float(settings.embed_threads),
            gpus_per_actor=(-1.0 if settings.embed_device == "auto" else 1.0) if gpu else 0.0, batch_size=settings.embed_batch_size,
        )  # fmt: skip
        values = {name: getattr(settings, name) for name in EMBEDDER_SETTINGS}
        return ray_ingest(ingestor, functools.partial(embedder_from, values), paths, options, **kwargs)

    def chunker_config(self) -> dict[str, Any]:
        """The chunker settings an index records (what ``rag ingest`` would chunk with)."""
        from ingest.chunking import SentenceChunker

        return SentenceChunker(self.settings.chunk_size, self.settings.chunk_overlap).config

    # -- lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the local model server, if one was started (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> Factory:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _scoped(snapshot: IndexView, collections: Iterable[str]) -> IndexView:
    """``snapshot`` as a caller who may read only ``collections`` sees it (:mod:`rag.index.scoped`)."""
    from rag.errors import IndexStoreError
    from rag.index.scoped import ScopedView
    from rag.index.snapshot import IndexSnapshot

    if not isinstance(snapshot, IndexSnapshot):
        raise IndexStoreError("this index is in format 1, which has no collections: any write (or 'rag optimize') migrates it")
    return ScopedView(snapshot, collections)
