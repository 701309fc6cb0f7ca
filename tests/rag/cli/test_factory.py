"""rag/cli/factory.py: every object built from settings, in one place (fast: fake embedder, no model)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rag.answering import ExtractiveGenerator
from rag.checking import LexicalJudge
from rag.cli.factory import Factory, build_chat_model, build_embedder, build_ingestor, build_store, redacted_url
from rag.embedders import E5Embedder, SentenceTransformerEmbedder
from rag.errors import ConfigError, IndexMismatchError, MissingDependencyError
from rag.langchain_adapters import ChatModelGenerator, ChatModelJudge
from rag.retrieval import HybridRetriever
from rag.settings import Settings
from tests.conftest import HashEmbedder

OPENAI = {"generator": "openai", "llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "m"}


def _indexed(tmp_path: Path, embedder: HashEmbedder, **settings: object) -> Settings:
    config = Settings(index_dir=tmp_path / "idx", **settings)  # type: ignore[arg-type]
    (tmp_path / "faq.txt").write_text("提现一般需要1个工作日到账。大额提现需要人工审核。\n", encoding="utf-8")
    report = build_ingestor(config, embedder=embedder).ingest([tmp_path / "faq.txt"])
    assert report.files_added == 1
    return config


def test_the_embedder_follows_the_settings() -> None:
    e5 = build_embedder(Settings(embed_threads=1, embed_batch_size=8))
    assert isinstance(e5, E5Embedder) and e5.threads == 1 and e5.batch_size == 8
    st = build_embedder(Settings(embedder="sentence-transformers", embedder_model="all-MiniLM-L6-v2"))
    assert isinstance(st, SentenceTransformerEmbedder) and st.model_name == "all-MiniLM-L6-v2"


def test_the_store_and_the_ingestor_use_the_settings(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "a", keep_versions=3, chunk_size=100, chunk_overlap=10, max_file_mb=1)
    assert build_store(settings).root == tmp_path / "a" and build_store(settings, tmp_path / "b").root == tmp_path / "b"
    ingestor = build_ingestor(settings, embedder=HashEmbedder())
    assert ingestor.store.root == tmp_path / "a" and ingestor.max_file_bytes == 1024 * 1024
    assert ingestor.chunker_config["chunk_size"] == 100 and ingestor.chunker_config["chunk_overlap"] == 10


def test_the_factory_keeps_the_models_it_built() -> None:
    factory = Factory(Settings(**OPENAI))  # type: ignore[arg-type]
    assert factory.embedder() is factory.embedder()
    llm = factory.llm()
    assert isinstance(llm, ChatModelGenerator) and factory.llm() is llm
    assert llm.backend == "openai m at http://127.0.0.1:9/v1"
    assert Factory(Settings()).llm() is None  # extractive: no language model


def test_chat_model_settings() -> None:
    model = build_chat_model(Settings(**OPENAI, llm_timeout=7, llm_retries=2, llm_max_tokens=99))  # type: ignore[arg-type]
    assert (model.model_name, model.request_timeout, model.max_retries, model.max_tokens) == ("m", 7, 2, 99)  # type: ignore[attr-defined]
    assert model.openai_api_base == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    other = build_chat_model(Settings(**OPENAI), base_url="http://127.0.0.1:8/v1", model="x", api_key="k")  # type: ignore[arg-type]
    assert other.openai_api_base == "http://127.0.0.1:8/v1" and other.model_name == "x"  # type: ignore[attr-defined]
    assert other.openai_api_key.get_secret_value() == "k"  # type: ignore[attr-defined]


def test_judges() -> None:
    assert isinstance(Factory(Settings()).judge("offline"), LexicalJudge)
    with pytest.raises(ConfigError, match="--judge llm needs a language model"):
        Factory(Settings()).judge("llm")
    with pytest.raises(ConfigError, match="unknown judge 'model'"):
        Factory(Settings()).judge("model")
    judge = Factory(Settings(**OPENAI)).judge("llm")  # type: ignore[arg-type]
    assert isinstance(judge, ChatModelJudge) and judge.backend == "openai m at http://127.0.0.1:9/v1"


def test_the_service_over_an_index(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    settings = _indexed(tmp_path, embedder, top_k=3, max_question_chars=50)
    factory = Factory(settings, embedder=embedder)
    service = factory.service()
    assert isinstance(service.generator, ExtractiveGenerator) and service.fallback is None
    assert isinstance(service.retriever, HybridRetriever)
    assert (service.top_k, service.max_question_chars) == (3, 50)
    answer = service.ask("提现需要多久?")
    assert answer.citations and "1个工作日" in answer.citations[0].text


def test_a_language_model_with_the_extractive_fallback(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    settings = _indexed(tmp_path, embedder, fallback="extractive", **OPENAI)
    service = Factory(settings, embedder=embedder).service()
    assert isinstance(service.generator, ChatModelGenerator)
    assert isinstance(service.fallback, ExtractiveGenerator)
    assert service.rewriter is service.generator  # the model rewrites follow-ups too


def test_an_index_of_another_embedder_is_refused(tmp_path: Path) -> None:
    settings = _indexed(tmp_path, HashEmbedder(model="hash-v1"))
    with pytest.raises(IndexMismatchError):
        Factory(settings, embedder=HashEmbedder(model="hash-v2")).snapshot()
    assert Factory(settings, embedder=HashEmbedder(model="hash-v2")).snapshot(check_embedder=False).n_chunks > 0


def test_gguf_without_xllamacpp_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import xllamacpp now raises ImportError
    factory = Factory(Settings(generator="gguf", gguf_path=model))
    with pytest.raises(MissingDependencyError, match=r"the gguf generator needs the 'xllamacpp' package: pip install 'rag-cite\[local\]'") as info:
        factory.llm()
    assert info.value.package == "xllamacpp"
    factory.close()  # nothing was started: closing is harmless


def test_a_gguf_generator_holds_its_server_and_close_stops_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []

    class FakeServer:  # LocalGGUFServer's shape, without loading a model
        base_url, model_name, api_key = "http://127.0.0.1:9/v1", "m.gguf", "k"
        closed = False

        def __init__(self, path: Path, *, context: int, threads: int | None) -> None:
            started.append(self)

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr("rag.local_llm.LocalGGUFServer", FakeServer)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    with Factory(Settings(generator="gguf", gguf_path=model)) as factory:
        llm = factory.llm()
        assert isinstance(llm, ChatModelGenerator) and llm.backend == "gguf m.gguf"
        (server,) = started
        assert llm.serves_it is server  # kept alive as long as the generator, whatever happens to the factory
        assert not server.closed  # type: ignore[attr-defined]
    assert server.closed  # type: ignore[attr-defined]


def test_close_stops_the_local_server_once() -> None:
    class Server:
        closed = 0

        def close(self) -> None:
            Server.closed += 1

    factory = Factory(Settings())
    factory._server = Server()  # type: ignore[assignment]
    with factory:
        pass
    factory.close()
    assert Server.closed == 1


def test_backend_urls_lose_their_secrets() -> None:
    assert redacted_url("http://user:pw@127.0.0.1:9/v1?api-key=x") == "http://127.0.0.1:9/v1"
    assert redacted_url("http://[::1]:8080/v1") == "http://[::1]:8080/v1"
    assert redacted_url("http://[::1") == "(a malformed URL)"


def test_the_embed_device_reaches_sentence_transformers_and_e5_refuses_a_gpu() -> None:
    from pydantic import ValidationError

    embedder = build_embedder(Settings(embedder="sentence-transformers", embedder_model="all-MiniLM-L6-v2", embed_device="cuda:1"))
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.device == "cuda:1"
    with pytest.raises(ValidationError, match="runs on the CPU only"):
        Settings(embedder="e5", embed_device="cuda")
    with pytest.raises(ValidationError, match="embed_device"):
        Settings(embedder="sentence-transformers", embedder_model="x", embed_device="gpu0")
    assert isinstance(build_embedder(Settings(embed_device="auto")), E5Embedder)
