"""The CSV importer: questions from a spreadsheet with a header row (question, answer, context,
source, answerable, id and ``x_`` columns), in UTF-8 or GB18030 as Chinese Excel saves it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from eval.dataset import DatasetError, EvalRow
from eval.importer_common import dataset_header, read_source
from rag.text.language import detect_language

__all__ = ["ANSWER_SEPARATOR", "CSV_COLUMNS", "import_csv"]

ANSWER_SEPARATOR = "||"
"""Separates the acceptable answers (and the sources) in one CSV cell: ``北京 || Beijing``."""

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "question": ("question", "user_input"),
    "answer": ("answer", "reference"),
    "context": ("context",),
    "source": ("source",),
    "answerable": ("answerable",),
    "id": ("id",),
}
"""Each CSV column and the header names accepted for it (case and surrounding spaces ignored)."""

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _decode_csv(data: bytes, path: Path) -> tuple[str, str]:
    if b"\x00" in data[:4096] or data.startswith(b"PK\x03\x04"):
        raise DatasetError("not a CSV text file (an Excel workbook?); export it as CSV UTF-8", path=path)
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"  # Excel on Chinese Windows saves CSV in GBK
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError("neither UTF-8 nor GB18030 text; save it as CSV UTF-8", path=path, line=line) from exc


def _column_map(header: list[str], path: Path) -> dict[str, int]:
    aliases = {alias: column for column, names in CSV_COLUMNS.items() for alias in names}
    where: dict[str, int] = {}
    unknown = []
    for i, raw in enumerate(header):
        label = raw.strip().lower()
        if not label and i == len(header) - 1:
            continue  # a trailing delimiter
        column = aliases.get(label)
        if column is None:
            if not label.startswith("x_"):
                unknown.append(raw.strip() or f"(empty name, column {i + 1})")
            continue
        if column in where:
            raise DatasetError(f'column "{column}" appears twice (as "{header[where[column]].strip()}" and "{raw.strip()}")', path=path, line=1)
        where[column] = i
    if unknown:
        known = ", ".join(f"{c} (or {', '.join(n[1:])})" if len(n) > 1 else c for c, n in CSV_COLUMNS.items())
        raise DatasetError(
            f"unknown column(s) {', '.join(repr(u) for u in unknown)}; the columns are: {known} "
            "(and any starting with x_, kept as they are)",
            path=path,
            line=1,
        )
    if "question" not in where:
        raise DatasetError('no "question" (or "user_input") column', path=path, line=1)
    return where


def _split_cell(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(ANSWER_SEPARATOR) if part.strip())


def import_csv(path: Path | str, *, delimiter: str = ",") -> tuple[dict[str, Any], list[EvalRow]]:
    """Import questions from a CSV file with a header row.

    Columns (names are case-insensitive): ``question`` or ``user_input`` (required);
    ``answer`` or ``reference`` (acceptable answers separated by ``||``); ``context``
    (the gold passage); ``source`` (document names, separated by ``||``); ``answerable``
    (true/false/yes/no/1/0, default true); ``id`` (default ``row-<line>``). Columns
    starting with ``x_`` are kept on the row; any other column is an error. UTF-8 with or
    without a BOM, or GB18030/GBK as Chinese Excel writes it. The header has no corpus.
    """
    path = Path(path)
    if len(delimiter) != 1:
        raise DatasetError(f"the CSV delimiter must be one character, got {delimiter!r}")
    data, digest = read_source(path)
    text, encoding = _decode_csv(data, path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[EvalRow] = []
    first_line_of: dict[str, int] = {}
    try:
        header = next(reader, None)
        if header is None:
            raise DatasetError("the file is empty (a header row is needed: question,answer,...)", path=path)
        columns = _column_map(header, path)
        extras = {i: "x_" + label.strip()[2:] for i, label in enumerate(header) if label.strip().lower().startswith("x_")}
        line_end = reader.line_num
        for record in reader:
            line, line_end = line_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
                raise DatasetError(f"{len(record)} fields but the header has {len(header)} columns", path=path, line=line)

            def cell(column: str, record: list[str] = record) -> str:
                i = columns.get(column)
                return record[i].strip() if i is not None and i < len(record) else ""

            answerable_text = cell("answerable").lower()
            if answerable_text and answerable_text not in _TRUE | _FALSE:
                raise DatasetError(f'"answerable" must be true/false/yes/no/1/0, got "{cell("answerable")}"', path=path, line=line)
            row_id = cell("id") or f"row-{line}"
            if row_id in first_line_of:
                raise DatasetError(f'duplicate id "{row_id}" (first on line {first_line_of[row_id]})', path=path, line=line)
            first_line_of[row_id] = line
            question = cell("question")
            if not question:
                raise DatasetError('"question" is empty', path=path, line=line)
            context = cell("context")
            try:
                rows.append(
                    EvalRow(
                        id=row_id,
                        user_input=question,
                        reference=_split_cell(cell("answer")),
                        reference_contexts=(context,) if context else (),
                        reference_sources=_split_cell(cell("source")),
                        answerable=answerable_text not in _FALSE,
                        language=detect_language(f"{question} {context}"),
                        extras={label: record[i] for i, label in extras.items() if i < len(record) and record[i] != ""},
                    )
                )
            except DatasetError as exc:
                raise exc.at(path, line) from exc
    except csv.Error as exc:
        raise DatasetError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from exc
    if not rows:
        raise DatasetError("a header row but no questions", path=path)
    provenance = {"importer": "csv", "source_file": path.name, "sha256": digest, "encoding": encoding, "rows": len(rows)}
    return dataset_header(path.stem, f"Questions from {path.name}", None, provenance), rows
