"""Evaluation datasets: one JSONL file of questions, optionally with its corpus.

The format is described in ``docs/evaluation-format.md``. In short: an optional first
line ``{"rag_eval": 1, "name": ..., "corpus": ...}``, then one question per line with the
field names the field already uses (``user_input``, ``reference``, ``reference_contexts``).

Pydantic checks the shape of each line at this edge (:mod:`eval.dataset_parse`); the rest of
the code sees only the frozen dataclasses of :mod:`eval.dataset_types`. Every problem is a
:class:`DatasetError` whose message names the file and the line, e.g.
``questions.jsonl line 7: "user_input" is missing``.

This module loads and writes dataset files. It re-exports the domain types and constants, and
:func:`manifest_path` and :func:`materialize_corpus` from :mod:`eval.corpus`, so that every
public name of the format is importable from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.corpus import corpus_from_model, manifest_path, materialize_corpus, read_manifest
from eval.dataset_parse import HeaderModel, RowModel, parse_json, read_input_bytes, read_text, validate
from eval.dataset_types import (
    DOCUMENT_SUFFIXES,
    EXTENSION_PREFIX,
    FORMAT_VERSION,
    HEADER_KEY,
    MANIFEST_SUFFIX,
    CorpusSpec,
    EvalDataset,
    EvalRow,
    InlineDocument,
)
from rag.errors import DatasetError
from rag.files import atomic_write

__all__ = [
    "DOCUMENT_SUFFIXES",
    "FORMAT_VERSION",
    "HEADER_KEY",
    "MANIFEST_SUFFIX",
    "CorpusSpec",
    "DatasetError",
    "EvalDataset",
    "EvalRow",
    "InlineDocument",
    "load_dataset",
    "manifest_path",
    "materialize_corpus",
    "read_input_bytes",
    "write_dataset",
]


# --------------------------------------------------------------------------- reading


def _read_header(obj: dict[str, Any], path: Path, line: int) -> HeaderModel:
    version = obj[HEADER_KEY]
    if isinstance(version, int) and not isinstance(version, bool) and version != FORMAT_VERSION:
        raise DatasetError(
            f"format version {version} is not supported (this release reads version {FORMAT_VERSION})", path=path, line=line
        )
    return validate(HeaderModel, obj, path, line)


def load_dataset(path: Path | str, corpus_override: Sequence[Path] | None = None) -> EvalDataset:
    """Read and check a dataset file.

    The corpus comes from ``corpus_override`` (the caller's ``--corpus``) if given, else
    the header's ``corpus``, else the sibling manifest ``<file name>.corpus.json``, else
    it is None. Relative corpus paths are resolved against the dataset file's folder
    (those of ``corpus_override`` against the working directory). Nothing is checked on
    disk here beyond the dataset and manifest files: see :func:`materialize_corpus`.
    """
    path = Path(path)
    text = read_text(path)
    base = path.resolve().parent
    header: dict[str, Any] = {}
    header_model: HeaderModel | None = None
    rows: list[EvalRow] = []
    header_line = 1
    first_line_of: dict[str, int] = {}
    seen_content = False

    for number, raw in enumerate(text.split("\n"), start=1):  # not splitlines(): JSON strings may hold U+2028
        if not raw.strip():
            continue
        obj = parse_json(raw, path, number)
        if not isinstance(obj, dict):
            kind = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(type(obj), "a number")
            raise DatasetError(f"a line must be a JSON object {{...}}, got {kind}", path=path, line=number)
        if HEADER_KEY in obj:
            if seen_content:
                raise DatasetError(f'a "{HEADER_KEY}" header is only allowed on the first line', path=path, line=number)
            header_model = _read_header(obj, path, number)
            header = obj
            header_line = number
            seen_content = True
            continue
        seen_content = True
        model = validate(RowModel, obj, path, number)
        row_id = model.id if model.id is not None else f"row-{number}"
        if row_id in first_line_of:
            raise DatasetError(f'duplicate id "{row_id}" (first on line {first_line_of[row_id]})', path=path, line=number)
        first_line_of[row_id] = number
        try:
            rows.append(
                EvalRow(
                    id=row_id,
                    user_input=model.user_input,
                    reference=tuple(model.reference),
                    reference_contexts=tuple(model.reference_contexts),
                    reference_sources=tuple(model.reference_sources),
                    answerable=model.answerable,
                    language=model.language,
                    metadata=model.metadata,
                    extras={k: v for k, v in obj.items() if k.startswith(EXTENSION_PREFIX)},
                )
            )
        except DatasetError as exc:
            raise exc.at(path, number) from exc

    if not rows:
        raise DatasetError("no questions (the file is empty)" if not seen_content else "a header but no questions", path=path)

    corpus: CorpusSpec | None = None
    if header_model is not None and header_model.corpus is not None:
        corpus = corpus_from_model(header_model.corpus, base, f"{path.name} header", path, header_line)
    if corpus_override is not None:
        if not corpus_override:
            raise DatasetError("the corpus given for this dataset names no files or folders", path=path)
        corpus = CorpusSpec(paths=tuple(Path(p).resolve() for p in corpus_override), origin="--corpus")
    elif corpus is None and manifest_path(path).is_file():
        corpus = read_manifest(manifest_path(path), base)

    name = header_model.name if header_model is not None and header_model.name else path.stem
    return EvalDataset(path=path, name=name, rows=tuple(rows), corpus=corpus, header=header)


# --------------------------------------------------------------------------- writing


def _row_json(row: EvalRow) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "user_input": row.user_input, "reference": list(row.reference)}
    if row.reference_contexts:
        out["reference_contexts"] = list(row.reference_contexts)
    if row.reference_sources:
        out["reference_sources"] = list(row.reference_sources)
    out["answerable"] = row.answerable
    if row.language is not None:
        out["language"] = row.language
    if row.metadata:
        out["metadata"] = dict(row.metadata)
    out.update(row.extras)
    return out


def _dump(obj: Mapping[str, Any], path: Path, what: str) -> str:
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{what} cannot be written as JSON: {exc}", path=path) from exc


def write_dataset(path: Path | str, rows: Iterable[EvalRow], header: Mapping[str, Any] | None = None) -> None:
    """Write a dataset file atomically (a temporary file renamed into place).

    ``header`` is the free-form first line (``name``, ``description``, ``corpus``,
    ``provenance``); ``"rag_eval": 1`` is added. It is checked like a loaded header, so
    whatever is written can be read back.
    """
    path = Path(path)
    rows = list(rows)
    if not rows:
        raise DatasetError("no questions to write", path=path)
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            raise DatasetError(f'duplicate id "{row.id}"', path=path)
        seen.add(row.id)

    lines: list[str] = []
    if header is not None:
        full = {HEADER_KEY: FORMAT_VERSION, **{k: v for k, v in header.items() if k != HEADER_KEY}}
        if header.get(HEADER_KEY, FORMAT_VERSION) != FORMAT_VERSION:
            raise DatasetError(f"cannot write format version {header[HEADER_KEY]!r}", path=path)
        model = validate(HeaderModel, full, path, None)
        if model.corpus is not None:
            corpus_from_model(model.corpus, path.parent, "header", path, None)
        lines.append(_dump(full, path, "the header"))
    lines.extend(_dump(_row_json(row), path, f'row "{row.id}"') for row in rows)

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, "\n".join(lines) + "\n")
    except OSError as exc:
        raise DatasetError(f"cannot write: {exc.strerror or exc}", path=path) from exc
