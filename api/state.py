"""What the server shares between requests: the models (loaded once) and the current index version.

Every request asks :class:`Pipeline` for the service of the last committed index version. When
an ingest (here, or by ``rag ingest`` in another process) commits a new version, the next request
opens it and later requests use it; requests already running keep the snapshot they started
with, which stays readable after its segments are collected (their vectors and sentence vectors
are mapped and their SQLite files open: both survive the removal of the directory). No request ever sees a half-written
version: versions become visible only by the atomic switch of ``CURRENT``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from api.names import SourceNames
from rag.domain import DEFAULT_COLLECTION
from rag.errors import IndexNotFoundError, NotReadyError, UploadError
from rag.files import atomic_write
from rag.index.format import file_sha256, fsync_path
from rag.settings import Settings
from rag.text.script import preload as preload_text

if TYPE_CHECKING:
    from ingest.pipeline import Ingestor
    from rag.domain import SourceRecord
    from rag.protocols import Embedder, IndexView
    from rag.service import QAService
    from rag.store import IndexStore

__all__ = ["Components", "OutOfScope", "Pipeline", "UploadError", "UploadResult", "document_dict", "safe_filename"]


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|]")


class Components(Protocol):
    """What the server needs built: ``rag.cli.factory.Factory`` is the implementation ``rag serve``
    passes in (the API builds nothing from settings itself)."""

    def embedder(self) -> Embedder: ...

    def store(self) -> IndexStore: ...

    def qa_service(self, snapshot: IndexView, collections: Iterable[str] | None = None) -> QAService: ...

    def ingestor(self) -> Ingestor: ...

    def llm(self) -> object | None: ...

    def close(self) -> None: ...


def safe_filename(name: str | None) -> str:
    """The last component of a client's file name, cleaned so it cannot escape the upload folder
    (no separators, no ``..``, no control characters, no bidirectional overrides or other
    invisible format characters, no leading dot, at most 200 characters)."""
    raw = unicodedata.normalize("NFC", (name or "").replace("\\", "/"))
    base = PurePosixPath(raw).name
    base = "".join(ch for ch in base if unicodedata.category(ch) != "Cf")  # bidirectional overrides, zero-width marks
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip()
    base = "".join(ch for ch in base if not 0xD800 <= ord(ch) <= 0xDFFF)
    if len(base.encode()) > 200:  # file systems count bytes (255 at most): 200 leaves room
        stem, dot, suffix = base.rpartition(".")
        if not dot or len(suffix) > 10:
            stem, dot, suffix = base, "", ""
        room = 200 - len(dot + suffix)
        stem = stem.encode()[:room].decode(errors="ignore")
        base = stem + dot + suffix
    if not base or base in {".", ".."}:
        raise UploadError(str(name), f"unusable file name {name!r}: give the file a name such as notes.md")
    return base


class OutOfScope(Exception):
    """A change to a collection the caller's key may not change (its name is the argument)."""


@dataclass
class UploadResult:
    documents: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    index_version: str | None = None
    seconds: float = 0.0


class Pipeline:
    """The models and the index, shared by the server's threads."""

    def __init__(self, settings: Settings, components: Components) -> None:
        self.settings = settings
        self.components = components
        self.embedder = components.embedder()
        self.store = components.store()
        self.uploads = settings.uploads_path
        self._service: QAService | None = None
        self._version: str | None = None
        self._switch = threading.Lock()
        self._names: dict[frozenset[str] | None, tuple[str, SourceNames]] = {}
        self._scoped: dict[frozenset[str], tuple[str, QAService]] = {}  # the services of the collection scopes asked for
        self._existing: tuple[str, frozenset[str]] | None = None  # (version, the collections it holds)
        self._writing = threading.Lock()  # one ingest or delete at a time in this process
        self._live_staging: set[Path] = set()  # this process' requests' staging folders (never recovered)
        self.loaded = False

    def load(self) -> None:
        """Load the models (before the server takes requests): the first question is not slow."""
        if self.loaded:
            return
        self.components.llm()  # a model that cannot load is an error now, not at the first question
        self.embedder.embed_queries(["warm-up"])
        preload_text()
        with self._writing:
            self.recover()  # what a crashed server's uploads and deletes left
        try:
            self.service()
        except NotReadyError:
            pass  # no index yet: documents can still be uploaded
        self.loaded = True

    # -- reading ---------------------------------------------------------------------------

    def service(self, read: frozenset[str] | None = None) -> QAService:
        """The question-answering service of the last committed index version (``read``: over the
        sources of those collections alone)."""
        base = self._service_of_version()
        if read is None:
            return base
        existing = self._existing
        if existing is None or existing[0] != base.snapshot.version:
            existing = (base.snapshot.version, frozenset(s.collection for s in base.snapshot.sources()))
            self._existing = existing
        read = read & existing[1]  # a request's names of collections that do not exist build nothing
        if read == existing[1]:
            return base  # every collection there is: the whole index is the scope
        cached = self._scoped.get(read)
        if cached is None or cached[0] != base.snapshot.version:
            if len(self._scoped) >= 256:
                self._scoped = {}  # replaced, not cleared: a request holding the old dict keeps it
            cached = (base.snapshot.version, self.components.qa_service(base.snapshot, read))
            self._scoped[read] = cached
        return cached[1]

    def _service_of_version(self) -> QAService:
        version = self.store.current_version()
        if version is None:
            raise NotReadyError(
                "no index yet: upload documents (POST /v1/documents), or run 'rag ingest PATH' on the server with this server's --index"  # no server path over HTTP
            )
        if version != self._version:
            with self._switch:
                if version != self._version:
                    try:
                        snapshot = self.store.open(self.embedder.info)
                    except IndexNotFoundError as exc:
                        raise NotReadyError(str(exc)) from exc
                    self._service = self.components.qa_service(snapshot)
                    self._version = snapshot.version
                    self._scoped, self._names = {}, {}  # replaced: requests holding the old ones keep them; old versions are let go
        assert self._service is not None
        return self._service

    def snapshot(self, read: frozenset[str] | None = None) -> IndexView:
        return self.service(read).snapshot

    def names(self, read: frozenset[str] | None = None) -> SourceNames:
        """How the current version's sources (those ``read`` may see) are shown over HTTP (see :mod:`api.names`)."""
        try:
            snapshot = self.snapshot(read)
        except NotReadyError:
            return SourceNames([], self.uploads)
        cached = self._names.get(read)
        if cached is None or cached[0] != snapshot.version:
            if len(self._names) >= 256:
                self._names = {}
            cached = (snapshot.version, SourceNames((s.path for s in snapshot.sources()), self.uploads))
            self._names[read] = cached
        return cached[1]

    def upload_folder(self, collection: str) -> Path:
        """Where uploads into ``collection`` are kept: the upload folder for the default one, a
        folder of its own under ``.collections/`` for any other (no upload name starts with a dot)."""
        return self.uploads if collection == DEFAULT_COLLECTION else self.uploads / ".collections" / collection

    def _is_upload(self, path: Path) -> bool:
        parent = path.parent.resolve()
        return parent == self.uploads.resolve() or parent.parent == (self.uploads / ".collections").resolve()

    def status(self) -> dict[str, Any]:
        """What /ready says (no key needed): no counts when some key sees only some collections."""
        snapshot = self.snapshot()
        if any(not k.scope.everything for k in self.settings.api_keys):
            return {"status": "ready", "index_version": snapshot.version, "embedder": snapshot.embedder.describe(), "generator": self.settings.generator}
        return {
            "status": "ready",
            "index_version": snapshot.version,
            "sources": snapshot.n_sources,
            "chunks": snapshot.n_chunks,
            "embedder": snapshot.embedder.describe(),
            "generator": self.settings.generator,
        }

    # -- writing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop what the components run (a local model server)."""
        self.components.close()

    def _ingestor(self, collection: str = DEFAULT_COLLECTION) -> Ingestor:
        ingestor = self.components.ingestor()
        ingestor.collection = collection
        ingestor.store.lock_wait = 0.0  # an upload never waits for another writer: 409 with Retry-After
        ingestor.store.on_lock_wait = None
        return ingestor

    def _sources_by_path(self) -> dict[str, SourceRecord]:
        try:
            return {s.path: s for s in self.snapshot().sources()}
        except NotReadyError:
            return {}

    def ingest_uploads(self, files: list[tuple[str, Path]], collection: str = DEFAULT_COLLECTION) -> UploadResult:
        """Ingest uploaded files: (safe name, a staged file of that name holding its bytes).

        The files are moved into the upload folder (replacing earlier uploads of the same names)
        and ingested in one commit. A file the ingest cannot read is reported with the reason and
        its earlier upload, if any, is put back, so the upload folder always matches the index;
        when the ingest fails as a whole (another process holds the index, ...), each name is
        settled by what the committed index holds, as after a crash (:meth:`recover`).
        """
        import time

        started = time.monotonic()
        result = UploadResult()
        with self._writing:
            self.recover()
            before = self._sources_by_path()
            folder = self.upload_folder(collection)
            folder.mkdir(parents=True, exist_ok=True)
            for staging in {temp.parent for _, temp in files}:  # before any file moves: what recovery reads
                mine = [name for name, temp in files if temp.parent == staging]
                write_journal(staging, {"put": mine}, {name: str((folder / name).resolve()) for name in mine})
            targets: list[Path] = []
            replaced: dict[Path, Path] = {}  # file in the upload folder -> its previous content, kept aside

            def put_back(target: Path) -> None:
                target.unlink(missing_ok=True)
                if target in replaced:
                    os.replace(replaced[target], target)

            try:
                for name, temp in files:
                    target = (folder / name).resolve()
                    if target.parent != folder.resolve():  # safe_filename makes this impossible; belt and braces
                        raise UploadError(name, f"file name {name!r} escapes the upload folder")
                    if target.exists():
                        replaced[target] = temp.with_name(f".previous-{name}")
                        os.replace(target, replaced[target])
                    os.replace(temp, target)
                    targets.append(target)
                report = self._ingestor(collection).ingest(targets)
            except BaseException:
                held = self._held()  # an earlier commit of this ingest (commit_every) stands: settle, don't guess
                for name, temp in files:
                    self._settle(name, temp.parent, held, deleting=False, path=str((folder / name).resolve()))
                raise
            unreadable = {Path(s.path).name: s.reason for s in report.skipped}
            for target in targets:
                if target.name in unreadable:
                    put_back(target)
            after = self._sources_by_path()
        result.skipped = [{"name": name, "reason": reason} for name, reason in unreadable.items()]
        for target in targets:
            record = after.get(str(target))
            if record is None or target.name in unreadable:
                continue
            old = before.get(str(target))
            status = "added" if old is None else ("unchanged" if old.content_hash == record.content_hash else "updated")
            result.documents.append(document_dict(record, self.names()) | {"status": status})
        result.index_version = report.version
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def delete(self, source_id: str, can_write: Callable[[str], bool] = lambda _: True) -> dict[str, Any]:
        """Remove a source from the index, and its uploaded file when it was uploaded here
        (:class:`OutOfScope` when ``can_write`` refuses its collection)."""
        with self._writing:
            self.recover()
            record = next((s for s in self._sources_by_path().values() if s.source_id == source_id), None)
            if record is None:
                raise KeyError(source_id)
            if not can_write(record.collection):
                raise OutOfScope(record.collection)
            path = Path(record.path)
            uploaded = self._is_upload(path) and path.exists()
            staging = self.staging_dir() if uploaded else None
            try:
                if staging is not None:  # the file is set aside first, and put back unless the removal commits
                    write_journal(staging, {"delete": [path.name]}, {path.name: record.path})
                    os.replace(path, staging / f".previous-{path.name}")
                try:
                    report = self._ingestor().remove([record.path])
                except BaseException:
                    if staging is not None:
                        self._settle(path.name, staging, self._held(), deleting=True, path=record.path)
                    raise
            finally:
                if staging is not None:
                    self.discard(staging)
        return {"id": source_id, "name": path.name, "chunks_removed": report.chunks_removed, "index_version": report.version}

    def staging_dir(self) -> Path:
        """A private folder for one upload's files, beside the upload folder (same file system)."""
        path = self._staging_root / uuid.uuid4().hex
        self._live_staging.add(path)  # before it exists: a recovery in another thread never takes it
        for attempt in range(3):
            try:
                path.mkdir(parents=True)
                break
            except FileNotFoundError:  # another request removed the emptied staging root meanwhile
                if attempt == 2:
                    raise
        return path

    def discard(self, path: Path) -> None:
        self._live_staging.discard(path)
        shutil.rmtree(path, ignore_errors=True)
        try:
            path.parent.rmdir()  # the staging folder itself, once no upload is using it
        except OSError:
            pass

    @property
    def _staging_root(self) -> Path:
        return self.uploads.parent / f".{self.uploads.name}-staging"

    def recover(self) -> list[str]:
        """Finish or roll back what a killed upload or delete left, so the upload folder matches the
        committed index file by file (called with ``_writing`` held: at start-up and before each
        upload or delete). A request's staging folder holds a journal of the names it moves,
        written before it moves any, and each replaced or deleted file's earlier bytes
        (``.previous-NAME``); which way each name goes is decided by the committed index alone:
        the file it holds (same content hash) stays, anything else is put back or removed."""
        root = self._staging_root
        if not root.is_dir():
            return []
        done: list[str] = []
        held: dict[str, str] | None = None
        for staging in sorted(p for p in root.iterdir() if p not in self._live_staging):
            journal = read_journal(staging)
            if journal is not None:
                held = self._held() if held is None else held
                paths = journal.get("paths", {})
                for name in journal.get("put", []):
                    done.extend(self._settle(name, staging, held, deleting=False, path=paths.get(name)))
                for name in journal.get("delete", []):
                    done.extend(self._settle(name, staging, held, deleting=True, path=paths.get(name)))
            shutil.rmtree(staging, ignore_errors=True)
            done.append(f"removed staging folder {staging.name}")
        try:
            root.rmdir()
        except OSError:
            pass
        if done:
            import logging

            logging.getLogger(__name__).warning("upload folder %s recovered after a crash: %s", self.uploads, "; ".join(done))
        return done

    def _held(self) -> dict[str, str]:
        """Path -> content hash of every source the committed index holds."""
        return {path: record.content_hash for path, record in self._sources_by_path().items()}

    def _settle(self, name: str, staging: Path, held: dict[str, str], *, deleting: bool, path: str | None = None) -> list[str]:
        """Make the upload folder's ``name`` what the committed index holds (``path``: the source
        path the journal recorded for it, the same string the index stores)."""
        target = Path(path).resolve() if path and Path(path).name == name else (self.uploads / name).resolve()
        if not self._is_upload(target):
            return []  # a journal never names one; belt and braces
        previous = staging / f".previous-{name}"
        indexed = held.get(path or str(target))
        if target.exists() and indexed is not None and indexed == file_sha256(target):
            return []  # the folder already holds what the index holds
        if previous.exists() and (indexed is not None or not deleting):
            if indexed is None:
                previous.unlink()  # neither version is indexed: nothing to put back
                target.unlink(missing_ok=True)
                return [f"removed {name} (not in the index)"]
            os.replace(previous, target)
            return [f"put back the indexed {name}"]
        if indexed is None and target.exists():
            target.unlink()
            return [f"removed {name} (its upload never committed)"]
        return []


JOURNAL = ".journal.json"  # a dotted name: no upload can take it (safe_filename strips leading dots)


def write_journal(staging: Path, entry: dict[str, list[str]], paths: dict[str, str]) -> None:
    """Durably record, in a request's staging folder, the names it is about to move (with the
    source path the index stores for each)."""
    import json

    atomic_write(staging / JOURNAL, json.dumps({**entry, "paths": paths}))
    fsync_path(staging)  # the rename itself is durable before any file moves


def read_journal(staging: Path) -> dict[str, Any] | None:
    """A staging folder's journal; None when it has none (the request moved nothing yet)."""
    import json

    try:
        data = json.loads((staging / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, Any] = {k: [str(n) for n in v] for k, v in data.items() if k in ("put", "delete") and isinstance(v, list)}
    paths = data.get("paths")
    out["paths"] = {str(k): str(v) for k, v in paths.items()} if isinstance(paths, dict) else {}
    return out


def document_dict(record: SourceRecord, names: SourceNames) -> dict[str, Any]:
    return {
        "id": record.source_id,
        "name": Path(record.path).name,
        "source": names.show(record.path),
        "kind": record.kind,
        "size": record.size,
        "chunks": record.n_chunks,
        "ingested_at": record.ingested_at,
        "collection": record.collection,
    }

