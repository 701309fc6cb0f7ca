"""``rag ingest --engine ray`` on a real local Ray cluster (``num_cpus=2``) with the real e5: the
index it builds equals a local ingest of the same files, a re-run embeds nothing, a killed
embedding actor loses and duplicates nothing, and a job stopped midway leaves what a local
ingest stopped there leaves."""

from __future__ import annotations

import functools
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray[data] is not installed (scripts/setup installs it)")

from ingest.chunking import SentenceChunker  # noqa: E402
from ingest.pipeline import Ingestor, IngestReport  # noqa: E402
from ingest.ray_engine import RayOptions, ray_ingest  # noqa: E402
from rag.cli.factory import embedder_from  # noqa: E402
from rag.embedders import E5Embedder  # noqa: E402
from rag.index.snapshot import IndexSnapshot  # noqa: E402
from rag.store import IndexStore  # noqa: E402
from rag.text.sentences import sentence_inputs  # noqa: E402
from rag.text.terms import WORD_KEY, word_inputs  # noqa: E402

pytestmark = pytest.mark.model

FAQ = Path(__file__).resolve().parents[2] / "rag" / "data" / "bitcoin-exchange-support-faq.zh.txt"
ENGLISH = [
    "Withdrawals are reviewed within two hours. Large withdrawals may need a second review by the security team.",
    "Trading fees are 0.1% per trade. Holders of the platform token pay 25% less.",
    "To reset your password, open the login page and choose 'Forgot password'. A code is sent to your e-mail.",
    "Deposits in USDT on the TRC20 network arrive after 20 confirmations. Other networks take longer.",
    "Two-factor authentication protects your account. We recommend an authenticator app over SMS.",
    "Accounts are verified in three levels. Level two needs an identity document and a selfie.",
    "The API allows 1,200 requests per minute. Orders beyond the limit are rejected with code 429.",
    "Customer support answers in English and Chinese around the clock. 客服支持中文和英文。",
]
CHUNKER = SentenceChunker(120, 16)
E5 = {"embedder": "e5", "embedder_model": None, "embed_batch_size": 16, "embed_device": "cpu"}


def sentence(text: str, n: int) -> str:
    parts = [p for p in text.split("。") if p.strip()] or [text]
    return parts[min(n, len(parts) - 1)].strip() + "。"


def write_corpus(root: Path) -> list[Path]:
    """30 small files: the sample FAQ's questions with the first sentence of their answers as
    .txt, the second sentences as .md with the question as heading, English notes as .txt, one
    .html and one .json."""
    lines = [line for line in FAQ.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(q, sentence(a, n)) for q, a in zip(lines[0::2], lines[1::2], strict=False) for n in (0, 1)]
    root.mkdir(parents=True, exist_ok=True)
    made = []
    for n, (question, answer) in enumerate(pairs):
        if n % 2 == 0:
            made.append(root / f"faq-{n:02d}.txt")
            made[-1].write_text(f"{question}\n{answer}\n", encoding="utf-8")
        else:
            made.append(root / "md" / f"answer-{n:02d}.md")
            made[-1].parent.mkdir(exist_ok=True)
            made[-1].write_text(f"# {question.split('. ', 1)[-1]}\n\n{answer}\n", encoding="utf-8")
    for n, text in enumerate(ENGLISH[: 28 - len(made)]):
        made.append(root / "en" / f"note-{n}.txt")
        made[-1].parent.mkdir(exist_ok=True)
        made[-1].write_text(text + "\n", encoding="utf-8")
    (root / "page.html").write_text("<html><body><h1>Fees</h1><p>Maker fees are 0.08%. Taker fees are 0.1%.</p></body></html>", encoding="utf-8")
    (root / "records.json").write_text(json.dumps([{"text": "冷钱包保存了95%的资产。"}, {"text": "Hot wallets hold the rest."}], ensure_ascii=False), encoding="utf-8")
    return [*made, root / "page.html", root / "records.json"]


def ingestor(store: IndexStore, embedder: Any, **kwargs: Any) -> Ingestor:
    return Ingestor(store, embedder, CHUNKER, chunker_config=CHUNKER.config, max_file_bytes=1 << 20, embed_batch_chunks=16, **kwargs)


def contents(store: IndexStore) -> dict[str, Any]:
    view = store.open()
    assert isinstance(view, IndexSnapshot)
    with view:
        chunks = view.chunks()
        sources = view.sources()
        texts = {t for c in chunks for t in sentence_inputs(c.text, c.heading)} | {WORD_KEY + w for c in chunks for w in word_inputs(c.text, c.heading)}
        stored = view.sentence_vectors(sorted(texts))
        return {
            "sources": [(s.path, s.source_id, s.content_hash, s.kind, s.n_chunks, s.collection) for s in sources],
            "text": {s.path: view.source_text(s.source_id) for s in sources},
            "chunks": [(c.path, c.chunk_id, c.start, c.end, c.text, c.heading, c.page) for c in chunks],
            "vectors": view.chunk_vectors([c.vector_id for c in chunks]),
            "stored keys": sorted(stored),
            "stored": stored,
            "problems": view.verify(),
        }


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    for key in ("sources", "text", "chunks", "stored keys", "problems"):
        assert a[key] == b[key], key
    assert a["chunks"] and a["problems"] == []
    np.testing.assert_allclose(a["vectors"], b["vectors"], atol=2e-5)  # e5 in other batches: float arithmetic only
    assert sum(k.startswith(WORD_KEY) for k in a["stored keys"]) > 50  # words and sentences were stored
    for key in a["stored keys"]:
        np.testing.assert_allclose(np.asarray(a["stored"][key], dtype=np.float32), np.asarray(b["stored"][key], dtype=np.float32), atol=0.02)  # int8


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    from ingest.ray_engine import _start

    _start(RayOptions(local_cpus=2))
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], IngestReport]:
    root = tmp_path_factory.mktemp("ray") / "files"
    write_corpus(root)
    store = IndexStore(root.parent / "local")
    report = ingestor(store, E5Embedder(threads=2), commit_every=7).ingest([root])
    return root, contents(store), report


def run_ray(store: IndexStore, root: Path, options: RayOptions, **kwargs: Any) -> IngestReport:
    factory = functools.partial(embedder_from, E5 | {"embed_threads": int(options.cpus_per_actor)})
    return ray_ingest(ingestor(store, E5Embedder(threads=1), commit_every=7), factory, [root], options, **kwargs)


def counts(report: IngestReport) -> tuple[int, ...]:
    return (report.files_seen, report.files_added, report.files_unchanged, report.chunks_added, report.chunks_embedded, report.sentences_embedded, report.words_embedded, len(report.skipped))


def test_a_ray_ingest_stopped_midway_then_finished_equals_a_local_one_and_a_rerun_embeds_nothing(
    tmp_path: Path, cluster: None, corpus: tuple[Path, dict[str, Any], IngestReport]
) -> None:
    root, local, local_report = corpus
    store = IndexStore(tmp_path / "ray")

    def stop_at_ten(done: int, total: int, report: IngestReport) -> None:
        if done == 10:
            raise KeyboardInterrupt  # Ctrl-C, as a local ingest takes it

    stopped = run_ray(store, root, RayOptions(actors=2, cpus_per_actor=1, window_files=12), progress=stop_at_ten)
    view = store.open()
    alone = IndexStore(tmp_path / "local-stopped")  # a local ingest stopped at the same file keeps the same
    assert ingestor(alone, E5Embedder(threads=2), commit_every=7).ingest([root], progress=stop_at_ten).interrupted
    assert stopped.interrupted and view.verify() == [] and view.n_sources == 7  # a commit every 7 files; files 8-10 were not staged yet
    assert [s.path for s in view.sources()] == [s.path for s in alone.open().sources()]
    embedded: list[int] = []
    rest = run_ray(store, root, RayOptions(actors=2, cpus_per_actor=1, batch_size=16, window_files=12), embedded=embedded.append)
    assert (rest.files_unchanged, rest.files_added, rest.files_seen, rest.skipped, rest.interrupted) == (7, 23, 30, [], False)
    assert sum(embedded) == rest.chunks_embedded > 0
    assert stopped.chunks_embedded + rest.chunks_embedded == local_report.chunks_embedded
    assert stopped.words_embedded + rest.words_embedded == local_report.words_embedded
    assert_same(contents(store), local)
    embedded.clear()
    again = run_ray(store, root, RayOptions(actors=2, cpus_per_actor=1), embedded=embedded.append)
    assert (again.files_unchanged, again.chunks_embedded, again.sentences_embedded, again.words_embedded, again.version) == (30, 0, 0, 0, rest.version)
    assert embedded == []  # no embedding stage ran at all


def actor_pids() -> set[int]:
    import psutil

    found = set()
    for process in psutil.process_iter(["pid", "cmdline"]):
        if "_EmbedActor" in " ".join(process.info["cmdline"] or []):
            found.add(int(process.info["pid"]))
    return found


def test_an_embedding_actor_killed_mid_job_loses_and_duplicates_nothing(tmp_path: Path, cluster: None, corpus: tuple[Path, dict[str, Any], IngestReport]) -> None:
    root, local, local_report = corpus
    store = IndexStore(tmp_path / "ray")
    killed: list[int] = []
    after_kill: list[int] = []

    def embedded(n: int) -> None:
        if killed:
            after_kill.append(n)
            return
        pids = actor_pids()
        assert pids, "no embedding actor process found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        killed.extend(pids)

    report = run_ray(store, root, RayOptions(actors=1, cpus_per_actor=2, batch_size=4, window_files=100), embedded=embedded)
    assert killed and after_kill, "the actor was killed while batches were still to come"
    assert not set(killed) & actor_pids()
    assert counts(report) == counts(local_report)
    assert_same(contents(store), local)
