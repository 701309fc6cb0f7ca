"""What the importers share: reading a source file with its sha256, the ``limit`` check, the
dataset header they return, and the lenient pydantic base with its one-line error messages."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from eval.dataset import DatasetError, InlineDocument, read_input_bytes

__all__ = ["Lenient", "check_limit", "dataset_header", "read_source", "validation_message"]


def read_source(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their sha256."""
    data = read_input_bytes(path)
    return data, hashlib.sha256(data).hexdigest()


def check_limit(limit: int | None) -> None:
    """Refuse a ``limit`` (number of questions to keep) below 1; None means no limit."""
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be a positive number of questions, got {limit}")


def dataset_header(name: str, description: str, documents: Sequence[InlineDocument] | None, provenance: dict[str, Any]) -> dict[str, Any]:
    """The dataset header an importer returns: name, description, inline corpus (if any) and provenance."""
    header: dict[str, Any] = {"rag_eval": 1, "name": name, "description": description}
    if documents is not None:
        header["corpus"] = {"documents": [{"name": d.name, "text": d.text} for d in documents]}
    header["provenance"] = provenance
    return header


class Lenient(BaseModel):
    """Strict types, unknown keys ignored: a public dataset's source file may carry more than we read."""

    model_config = ConfigDict(strict=True, extra="ignore")


def _location(parts: Sequence[int | str]) -> str:
    loc = ""
    for part in parts:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    return loc


def validation_message(exc: ValidationError) -> str:
    """``data[0].paragraphs[2]: "context" is missing`` for pydantic's first complaint."""
    err = exc.errors(include_url=False)[0]
    if err["type"] == "missing":
        parent = _location(err["loc"][:-1])
        missing = f'"{err["loc"][-1]}" is missing'
        return f"{parent}: {missing}" if parent else missing
    loc = _location(err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]
