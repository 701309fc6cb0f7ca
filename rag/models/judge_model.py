"""The learned judge's network: e5-small's first layers as a cross-encoder, mean pooling over
the pair's tokens and a small head over (unsupported, supported). Trained by
training/train_judge.py, loaded by rag.checking.learned."""

from __future__ import annotations

import torch
from torch import nn

from rag.models.e5_file import E5File
from rag.models.encoder import E5Encoder

__all__ = ["PairClassifier"]


class PairClassifier(nn.Module):
    def __init__(self, layers: int, file: E5File | None = None) -> None:
        super().__init__()
        self.encoder = E5Encoder(file, layers=layers)
        hidden = self.encoder.file.config.hidden
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(ids, lengths)
        keep = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).float()[..., None]
        pooled = (hidden * keep).sum(1) / keep.sum(1)
        out: torch.Tensor = self.head(pooled)
        return out
