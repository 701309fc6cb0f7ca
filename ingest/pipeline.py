"""The ingest pipeline: find files, skip unchanged ones by content hash, extract, chunk,
embed (reusing the vectors of text already in the index), and commit index versions.

A commit happens every ``commit_every`` files and at the end, so a crash or Ctrl-C loses at
most the files since the last commit; running the same command again picks up from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from ingest.discovery import SkippedFile, discover, is_under
from ingest.limits import ParseLimits
from ingest.loaders import extract_document, is_supported, read_source
from ingest.words import new_word_vectors
from rag.domain import DEFAULT_COLLECTION, Chunk, Document, check_collection, sha256_hex, source_id_for
from rag.errors import IngestError
from rag.protocols import Chunker, Embedder
from rag.store import IndexStore, IndexWriter
from rag.text.sentences import sentence_inputs

__all__ = ["IngestReport", "Ingestor", "ParseSpec", "Prepared", "SkippedFile", "discover", "prepare_source"]

_LOOKAHEAD = 256  # files whose index entries are looked up at once


@dataclass
class IngestReport:
    """What one ``ingest`` or ``remove`` run did."""

    files_seen: int = 0
    files_added: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    chunks_embedded: int = 0
    sentences_embedded: int = 0
    words_embedded: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    version: str | None = None
    seconds: float = 0.0
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ParseSpec:
    """How a file becomes a document and chunks (what a parse task on another machine needs)."""

    max_file_bytes: int
    text_field: str
    limits: ParseLimits
    chunker: Chunker


# What preparing one file gives: its chunk count when unchanged, the reason when skipped, or the
# document and its chunks to embed.
Prepared = int | str | tuple[Document, list[Chunk]]


def prepare_source(path: Path, known: tuple[str, int, str] | None, collection: str | None, spec: ParseSpec, source_path: str | None = None) -> Prepared:
    """Read, hash, parse and chunk one file. ``known``: the index's (content hash, chunks,
    collection) for it; ``collection``: the one asked for (None: a known source keeps its own);
    ``source_path``: the identity the index gives it (default: ``path``, where it is read)."""
    source = source_path or str(path)
    try:
        data = read_source(path, max_bytes=spec.max_file_bytes) if is_supported(path) else b""
        target = collection or (known[2] if known is not None else DEFAULT_COLLECTION)
        if known is not None and known[0] == sha256_hex(data) and known[2] == target:
            return known[1]
        document = extract_document(path, data, text_field=spec.text_field, source_path=source, limits=spec.limits)
        document = replace(document, collection=target)
        chunks = spec.chunker.split(document)
        if not chunks:
            raise IngestError(path, "no text to index after chunking")
    except IngestError as exc:
        return exc.reason
    return document, list(chunks)


class Ingestor:
    """Wires loaders, a chunker, an embedder and the index store together."""

    def __init__(
        self,
        store: IndexStore,
        embedder: Embedder,
        chunker: Chunker,
        *,
        chunker_config: dict[str, Any],
        max_file_bytes: int,
        text_field: str = "text",
        commit_every: int = 200,
        embed_batch_chunks: int = 64,
        parse_limits: ParseLimits | None = None,
        sentence_vectors: bool = True,
        word_vectors: bool = True,
        collection: str | None = None,
    ) -> None:
        if max_file_bytes <= 0:
            raise ValueError(f"max_file_bytes must be positive, got {max_file_bytes}")
        if commit_every <= 0:
            raise ValueError(f"commit_every must be positive, got {commit_every}")
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.chunker_config = chunker_config
        self.max_file_bytes = max_file_bytes
        self.text_field = text_field
        self.commit_every = commit_every
        self.embed_batch_chunks = embed_batch_chunks
        self.parse_limits = parse_limits or ParseLimits.for_file_limit(max_file_bytes)
        self.sentence_vectors = sentence_vectors  # embed each chunk's sentences now, for the answerer
        self.word_vectors = word_vectors  # and its words new to the index (ingest.words)
        # The collection the files go into (a source in another one moves); None: a known source
        # keeps its own, a new one goes into the default collection.
        self.collection = None if collection is None else check_collection(collection)
        self._busy = False
        self._embedded: Callable[[int], None] | None = None

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        sync: bool = False,
        follow_links: bool = False,
        progress: Callable[[int, int, IngestReport], None] | None = None,
        embedded: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders. With ``sync``, sources under ``paths`` that no longer exist are
        removed. Symbolic links out of the folders given are followed only with ``follow_links``.

        ``progress(done, total, report)`` is called after every file, ``embedded(n)`` after
        every batch of ``n`` chunks embedded (a large file is many batches).
        """
        self._embedded = embedded
        started = time.monotonic()
        self._busy = False
        report = IngestReport()
        files, report.skipped = discover(paths, exclude=[self.store.root], follow_links=follow_links)  # never ingest the index itself
        report.files_seen = len(files)
        pending: list[tuple[Document, list[Chunk], bool]] = []
        with self.store.writer(self.embedder.info, self.chunker_config) as writer:
            try:
                if sync:
                    self.sync_removed(writer, paths, report)
                since_commit = 0
                looked_up = 0  # files[:looked_up] have been looked up in the writer's base version
                for done, path in enumerate(files, start=1):
                    if done > looked_up:
                        writer.prefetch_sources([str(p) for p in files[done - 1 : done - 1 + _LOOKAHEAD]])
                        looked_up = done - 1 + _LOOKAHEAD
                    item = self._prepare(path, writer, report)
                    if item is not None:
                        pending.append(item)
                        since_commit += 1
                    if sum(len(c) for _, c, _ in pending) >= self.embed_batch_chunks:
                        self._flush(pending, writer, report)
                    if since_commit >= self.commit_every:
                        self._flush(pending, writer, report)
                        self._commit(writer, report)
                        since_commit = 0
                        looked_up = done  # a commit makes a new base version: look the rest up in it
                    if progress is not None:
                        progress(done, len(files), report)
                self._flush(pending, writer, report)
                self._commit(writer, report)
            except KeyboardInterrupt:
                # Keep what is finished, unless the interrupt came while the writer was
                # mid-update: then the staged version is discarded and the last commit stands.
                report.interrupted = True
                pending.clear()
                if not self._busy:
                    self._commit(writer, report)
        report.version = report.version or self.store.current_version()
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def _prepare(self, path: Path, writer: IndexWriter, report: IngestReport) -> tuple[Document, list[Chunk], bool] | None:
        source = str(path)
        known = writer.source_info(source)
        return self.settle(prepare_source(path, known, self.collection, self.parse_spec), source, known, report)

    @property
    def parse_spec(self) -> ParseSpec:
        return ParseSpec(self.max_file_bytes, self.text_field, self.parse_limits, self.chunker)

    @staticmethod
    def settle(prepared: Prepared, source: str, known: tuple[str, int, str] | None, report: IngestReport) -> tuple[Document, list[Chunk], bool] | None:
        """Count an unchanged or skipped file in ``report``; a parsed one is returned for embedding."""
        if isinstance(prepared, int):
            report.files_unchanged += 1
            report.chunks_unchanged += prepared
            return None
        if isinstance(prepared, str):
            kept = " (its previous version stays in the index)" if known is not None else ""
            report.skipped.append(SkippedFile(source, prepared + kept))
            return None
        return prepared[0], prepared[1], known is not None

    def sync_removed(self, writer: IndexWriter, paths: Sequence[Path], report: IngestReport) -> None:
        """``--sync``: remove the indexed sources under ``paths`` whose files are gone."""
        roots = [Path(p).expanduser().resolve() for p in paths if Path(p).expanduser().exists()]
        roots += [Path(p).expanduser().absolute() for p in paths if not Path(p).expanduser().exists()]
        for source in writer.source_paths():
            if is_under(source, roots) and not Path(source).exists():
                report.chunks_removed += writer.remove_source(source)
                report.files_removed += 1

    def _flush(self, pending: list[tuple[Document, list[Chunk], bool]], writer: IndexWriter, report: IngestReport, embedder: Embedder | None = None) -> None:
        """Embed what ``pending`` needs (with ``embedder``, by default the ingestor's) and stage it."""
        if not pending:
            return
        embedder = embedder or self.embedder
        self._busy = True
        all_chunks = [c for _, chunks, _ in pending for c in chunks]
        hashes = [sha256_hex(c.embed_text) for c in all_chunks]
        known = writer.known_vectors(hashes)
        to_embed = list(dict.fromkeys(h for h in hashes if h not in known))
        if to_embed:
            texts = {h: c.embed_text for h, c in zip(hashes, all_chunks)}
            for lo in range(0, len(to_embed), self.embed_batch_chunks):
                batch = to_embed[lo : lo + self.embed_batch_chunks]
                known.update(zip(batch, embedder.embed_passages([texts[h] for h in batch]), strict=True))
                report.chunks_embedded += len(batch)
                if self._embedded is not None:
                    self._embedded(len(batch))
        import numpy as np

        inputs = [sentence_inputs(c.text, c.heading) for c in all_chunks] if self.sentence_vectors else [[] for _ in all_chunks]
        sentences = self._sentence_vectors(inputs, writer, report, embedder) if self.sentence_vectors else {}
        words: list[dict[str, Any]] = [{} for _ in pending]
        if self.word_vectors:
            replacing = [d.path for d, _, replaced in pending if replaced]
            words, n_words = new_word_vectors(
                [c for _, c, _ in pending], partial(writer.held_words, replacing=replacing), writer.word_vectors, embedder.embed_queries
            )
            report.words_embedded += n_words
        offset = 0
        for (document, chunks, replaced), own_words in zip(pending, words, strict=True):
            mine = hashes[offset : offset + len(chunks)]
            own = {t: sentences[t] for texts in inputs[offset : offset + len(chunks)] for t in texts if t in sentences} | own_words
            offset += len(chunks)
            matrix = np.stack([known[h] for h in mine]).astype(np.float32)
            added, removed = writer.put_source(document, chunks, matrix, own)
            report.chunks_added += added
            report.chunks_removed += removed
            if replaced:
                report.files_updated += 1
            else:
                report.files_added += 1
        pending.clear()
        self._busy = False

    def _sentence_vectors(self, inputs: Sequence[Sequence[str]], writer: IndexWriter, report: IngestReport, embedder: Embedder) -> dict[str, Any]:
        """Vectors of the chunks' sentences (``inputs``: what the extractive answerer embeds for
        each chunk, see :func:`sentence_inputs`); stored ones are reused."""
        texts = list(dict.fromkeys(t for chunk_inputs in inputs for t in chunk_inputs))
        found: dict[str, Any] = writer.known_sentence_vectors(texts)
        missing = [t for t in texts if t not in found]
        batch = max(1, self.embed_batch_chunks * 4)  # sentences are short
        for lo in range(0, len(missing), batch):
            part = missing[lo : lo + batch]
            found.update(zip(part, embedder.embed_passages(part), strict=True))
            report.sentences_embedded += len(part)
        return found

    def _commit(self, writer: IndexWriter, report: IngestReport) -> None:
        self._busy = True
        report.version = writer.commit() or report.version
        self._busy = False

    def remove(self, sources: Sequence[str]) -> IngestReport:
        """Remove sources by path (as given or resolved) or by source id."""
        started = time.monotonic()
        report = IngestReport()
        with self.store.writer(self.embedder.info, self.chunker_config) as writer:
            known = writer.source_paths()
            by_id = {source_id_for(p): p for p in known}
            for given in sources:
                candidates = [given, str(Path(given).expanduser().absolute()), str(Path(given).expanduser().resolve())]
                match = next((c for c in candidates if c in known), None) or by_id.get(given)
                if match is None:
                    under = [p for p in known if is_under(p, [Path(c) for c in candidates[1:]])]
                    if not under:
                        report.skipped.append(SkippedFile(given, "not in the index"))
                        continue
                    targets = under
                else:
                    targets = [match]
                for target in targets:
                    report.chunks_removed += writer.remove_source(target)
                    report.files_removed += 1
            report.version = writer.commit() or self.store.current_version()
        report.seconds = round(time.monotonic() - started, 3)
        return report
