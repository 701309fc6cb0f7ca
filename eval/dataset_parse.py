"""Reading dataset input at the edge: file bytes and UTF-8 text, strict JSON (no duplicate keys),
and the pydantic models of a dataset line, header and corpus with one readable message per error.

Every problem is a :class:`DatasetError` naming the file and, where there is one, the line.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from eval.dataset_types import EXTENSION_PREFIX
from rag.errors import DatasetError

__all__ = ["CorpusModel", "HeaderModel", "RowModel", "parse_json", "read_input_bytes", "read_text", "validate"]


# --------------------------------------------------------------------------- the edge: pydantic


def _reject_unknown_keys(data: Any, known: Iterable[str]) -> Any:
    if isinstance(data, dict):
        known = list(known)
        for key in data:
            if key not in known and not str(key).startswith(EXTENSION_PREFIX):
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f'did you mean "{close[0]}"? ' if close else ""
                raise ValueError(
                    f'unknown key "{key}" ({hint}known keys: {", ".join(known)}; '
                    f'keys starting with "{EXTENSION_PREFIX}" are free for your own use)'
                )
    return data


class _Model(BaseModel):
    """Strict types (a string is not a list, 1 is not true); unknown keys refused unless ``x_``."""

    model_config = ConfigDict(strict=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return _reject_unknown_keys(data, cls.model_fields)


class _DocumentModel(_Model):
    name: str
    text: str


class CorpusModel(_Model):
    """A ``corpus`` object (in the header or a manifest): ``paths`` or ``documents``, exactly one."""

    paths: list[str] | None = None
    documents: list[_DocumentModel] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CorpusModel:
        if (self.paths is None) == (self.documents is None):
            raise ValueError('a corpus needs either "paths" or "documents" (exactly one)')
        return self


class HeaderModel(_Model):
    """The optional first line, ``{"rag_eval": 1, ...}``."""

    rag_eval: int
    name: str | None = None
    description: str | None = None
    corpus: CorpusModel | None = None
    provenance: dict[str, Any] | None = None


class RowModel(_Model):
    """One question line."""

    id: str | None = None
    user_input: str
    reference: list[str] = []
    reference_contexts: list[str] = []
    reference_sources: list[str] = []
    answerable: bool = True
    language: str | None = None
    metadata: dict[str, Any] = {}

    @field_validator("reference", mode="before")
    @classmethod
    def _one_answer(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


_TYPE_MESSAGES = {
    "string_type": "must be a string",
    "list_type": "must be a list",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "int_type": "must be an integer",
}


def _describe(exc: ValidationError) -> str:
    """One readable line for pydantic's first complaint (the others are usually consequences)."""
    err = exc.errors(include_url=False)[0]
    loc = ""
    for part in err["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    kind = err["type"]
    if kind == "missing":
        return f'"{loc}" is missing'
    if kind == "value_error":
        message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        return f'"{loc}": {message}' if loc else message
    message = _TYPE_MESSAGES.get(kind, err["msg"])
    if loc == "reference" and kind == "list_type":
        message = "must be a string or a list of strings"
    got = json.dumps(err.get("input"), ensure_ascii=False, default=str)
    got = got if len(got) <= 40 else got[:37] + "..."
    return f'"{loc}" {message} (got {got})'


_M = TypeVar("_M", bound=BaseModel)


def validate(model: type[_M], data: Any, path: Path | str, line: int | None) -> _M:
    """``data`` checked as ``model``; a failure is a :class:`DatasetError` with one readable message."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DatasetError(_describe(exc), path=path, line=line) from exc


# --------------------------------------------------------------------------- reading


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f'key "{key}" appears twice')
        out[key] = value
    return out


def parse_json(text: str, path: Path | str, line: int | None) -> Any:
    """``text`` parsed as JSON, refusing duplicate keys; a failure is a :class:`DatasetError`."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        where = f" (column {exc.colno})" if line is not None else f" (line {exc.lineno} column {exc.colno})"
        raise DatasetError(f"invalid JSON: {exc.msg}{where}", path=path, line=line) from exc
    except ValueError as exc:  # from _no_duplicate_keys
        raise DatasetError(str(exc), path=path, line=line) from exc


def read_input_bytes(path: Path) -> bytes:
    """A dataset or import source file's bytes; a missing, folder or unreadable path is a DatasetError."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DatasetError("no such file", path=path) from exc
    except IsADirectoryError as exc:
        raise DatasetError("is a folder, not a file", path=path) from exc
    except OSError as exc:
        raise DatasetError(f"cannot read: {exc.strerror or exc}", path=path) from exc


def read_text(path: Path) -> str:
    """A dataset file's text, decoded as UTF-8 (a leading BOM dropped)."""
    data = read_input_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError("not UTF-8 text (save the file as UTF-8)", path=path, line=line) from exc
