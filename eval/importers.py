"""Importers: public QA datasets and spreadsheets turned into our dataset format.

Each importer reads one source file and returns ``(header, rows)``: the header dict of
the dataset file (name, description, corpus, provenance with the source's sha256) and
the :class:`~eval.dataset.EvalRow` list. :func:`write_import` writes them as JSONL.

- :func:`import_squad`: SQuAD v1.1 JSON (XQuAD, CMRC2018); every paragraph becomes an
  inline document, every question a row.
- :func:`import_halueval`: HaluEval QA JSONL; every knowledge text becomes a document.
- :func:`import_csv`: a CSV with a header row (question, answer, context, source, ...).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from eval.dataset import DatasetError, EvalRow, InlineDocument, read_input_bytes, write_dataset
from rag.language import detect_language

__all__ = [
    "ANSWER_SEPARATOR",
    "CSV_COLUMNS",
    "import_csv",
    "import_halueval",
    "import_squad",
    "write_import",
]

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


# --------------------------------------------------------------------------- shared


def _read_source(path: Path) -> tuple[bytes, str]:
    """The file's bytes and their sha256."""
    data = read_input_bytes(path)
    return data, hashlib.sha256(data).hexdigest()


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be a positive number of questions, got {limit}")


def _header(name: str, description: str, documents: Sequence[InlineDocument] | None, provenance: dict[str, Any]) -> dict[str, Any]:
    header: dict[str, Any] = {"rag_eval": 1, "name": name, "description": description}
    if documents is not None:
        header["corpus"] = {"documents": [{"name": d.name, "text": d.text} for d in documents]}
    header["provenance"] = provenance
    return header


def _unique_in_order(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


def write_import(path_out: Path | str, header: dict[str, Any], rows: Sequence[EvalRow]) -> None:
    """Write an importer's result as a dataset file (atomically, see :func:`~eval.dataset.write_dataset`)."""
    write_dataset(path_out, rows, header)


# --------------------------------------------------------------------------- SQuAD


class _Lenient(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class _SquadAnswer(_Lenient):
    text: str


class _SquadQA(_Lenient):
    id: str
    question: str
    answers: list[_SquadAnswer] = []
    is_impossible: bool = False  # SQuAD 2.0; absent in v1.1


class _SquadParagraph(_Lenient):
    context: str
    qas: list[_SquadQA]


class _SquadArticle(_Lenient):
    title: str = ""
    paragraphs: list[_SquadParagraph]


class _SquadFile(_Lenient):
    data: list[_SquadArticle]


def _location(parts: Sequence[int | str]) -> str:
    loc = ""
    for part in parts:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    return loc


def _validation_message(exc: ValidationError) -> str:
    """``data[0].paragraphs[2]: "context" is missing`` for pydantic's first complaint."""
    err = exc.errors(include_url=False)[0]
    if err["type"] == "missing":
        parent = _location(err["loc"][:-1])
        missing = f'"{err["loc"][-1]}" is missing'
        return f"{parent}: {missing}" if parent else missing
    loc = _location(err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]


def _read_squad(path: Path) -> tuple[_SquadFile, str]:
    data, digest = _read_source(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError("not UTF-8 text", path=path) from exc
    try:
        return _SquadFile.model_validate_json(text), digest
    except ValidationError as exc:
        raise DatasetError(f"not a SQuAD v1.1 file: {_validation_message(exc)}", path=path) from exc


@dataclass
class _Question:
    qa_id: str
    question: str
    answers: list[str]
    impossible: bool
    context: str
    document: str
    duplicate_ids: list[str] = field(default_factory=list)


@dataclass
class _SquadContent:
    documents: list[InlineDocument]
    questions: list[_Question]  # unique question strings, in file order
    total: int = 0
    empty: int = 0
    merged: int = 0
    dropped: int = 0


def _squad_questions(squad: _SquadFile, path: Path) -> _SquadContent:
    content = _SquadContent([], [])
    by_text: dict[str, _Question] = {}
    ids: set[str] = set()
    for a, article in enumerate(squad.data):
        for p, paragraph in enumerate(article.paragraphs):
            name = f"{a:03d}-{p:03d}.txt"
            try:
                content.documents.append(InlineDocument(name, paragraph.context))
            except DatasetError as exc:
                raise exc.at(path, prefix=f"data[{a}].paragraphs[{p}]: ") from exc
            for q, qa in enumerate(paragraph.qas):
                content.total += 1
                if qa.id in ids:
                    raise DatasetError(f'data[{a}].paragraphs[{p}].qas[{q}]: duplicate id "{qa.id}"', path=path)
                ids.add(qa.id)
                question = qa.question.strip()
                if not question:  # CMRC2018 trial has two
                    content.empty += 1
                    continue
                answers = [answer.text.strip() for answer in qa.answers]  # CMRC pads some with spaces
                kept = by_text.get(question)
                if kept is None:
                    by_text[question] = kept = _Question(qa.id, question, answers, qa.is_impossible, paragraph.context, name)
                    content.questions.append(kept)
                elif name == kept.document:
                    # Asked twice of the same passage (9 times in XQuAD zh): one row with every answer.
                    content.merged += 1
                    kept.duplicate_ids.append(qa.id)
                    kept.answers.extend(answers)
                else:
                    # Asked of another passage (CMRC2018 dev has one): ambiguous, the first one stays.
                    content.dropped += 1
    return content


def _squad_row(q: _Question) -> EvalRow:
    metadata: dict[str, Any] = {"merged_ids": q.duplicate_ids} if q.duplicate_ids else {}
    return EvalRow(
        id=q.qa_id,
        user_input=q.question,
        reference=() if q.impossible else tuple(_unique_in_order(q.answers)),
        reference_contexts=(q.context,),
        reference_sources=(q.document,),
        answerable=not q.impossible,
        language=detect_language(q.context),
        metadata=metadata,
    )


def import_squad(
    path: Path | str,
    *,
    name: str | None = None,
    limit: int | None = None,
    unanswerable_from: Path | str | None = None,
    unanswerable: int = 0,
    seed: int = 0,
) -> tuple[dict[str, Any], list[EvalRow]]:
    """Import a SQuAD v1.1 JSON file (XQuAD, CMRC2018).

    Every paragraph becomes an inline document ``<article:03d>-<paragraph:03d>.txt``
    (indices from 0), every question a row with the SQuAD id, its answers (stripped,
    deduplicated in order), its paragraph as context and source. Each question string
    gives one row: asked again of the same paragraph, its answers join the first row's;
    asked of another paragraph, it is dropped (counted in the provenance, like empty
    questions). ``limit`` keeps the first questions in file order but every document
    (the others are the distractors).
    ``unanswerable`` questions sampled with ``random.Random(seed)`` from the file
    ``unanswerable_from`` are added as ``answerable: false`` rows with ids ``unans-<id>``;
    that file's passages are not added, so pick a file whose questions this corpus
    cannot answer (not the same questions in another language).
    """
    path = Path(path)
    _check_limit(limit)
    if unanswerable < 0:
        raise DatasetError(f"unanswerable must be 0 or more, got {unanswerable}")
    if unanswerable and unanswerable_from is None:
        raise DatasetError("unanswerable questions need a file to take them from (unanswerable_from)")

    squad, digest = _read_squad(path)
    content = _squad_questions(squad, path)
    if not content.questions:
        raise DatasetError("no questions", path=path)
    rows = [_squad_row(q) for q in content.questions[:limit]]
    provenance: dict[str, Any] = {
        "importer": "squad",
        "source_file": path.name,
        "sha256": digest,
        "articles": len(squad.data),
        "documents": len(content.documents),
        "questions": content.total,
        "unique_questions": len(content.questions),
        "empty_questions_skipped": content.empty,
        "duplicate_questions_merged": content.merged,
        "duplicate_questions_dropped": content.dropped,
        "rows": len(rows),
        "limit": limit,
    }

    if unanswerable_from is not None and unanswerable:
        other_path = Path(unanswerable_from)
        other, other_digest = _read_squad(other_path)
        asked = {q.question for q in content.questions}
        pool = [q for q in _squad_questions(other, other_path).questions if q.question not in asked]
        if unanswerable > len(pool):
            raise DatasetError(f"has {len(pool)} usable questions, {unanswerable} were asked for", path=other_path)
        picked = sorted(random.Random(seed).sample(range(len(pool)), unanswerable))
        for i in picked:
            q = pool[i]
            rows.append(
                EvalRow(
                    id=f"unans-{q.qa_id}",
                    user_input=q.question,
                    answerable=False,
                    language=detect_language(q.question),
                    metadata={"unanswerable_source": other_path.name},
                )
            )
        provenance["unanswerable"] = {
            "source_file": other_path.name,
            "sha256": other_digest,
            "seed": seed,
            "rows": unanswerable,
        }
        provenance["rows"] = len(rows)

    description = f"Questions and passages of {path.name} (SQuAD v1.1 format)"
    if unanswerable:
        description += f", with {unanswerable} unanswerable questions from {Path(unanswerable_from or '').name}"
    return _header(name or path.stem, description, content.documents, provenance), rows


# --------------------------------------------------------------------------- HaluEval


class _HaluRow(_Lenient):
    knowledge: str
    question: str
    right_answer: str
    hallucinated_answer: str


def import_halueval(path: Path | str, *, limit: int | None = None) -> tuple[dict[str, Any], list[EvalRow]]:
    """Import HaluEval QA (JSONL: knowledge, question, right_answer, hallucinated_answer).

    Row ``n`` (its line number) becomes document ``halu-<n:05d>.txt`` holding its knowledge
    and question ``halu-<n:05d>`` with the right answer as reference and the hallucinated
    one in ``metadata``. A knowledge text seen before is not added again: the row cites
    the first document holding it (64 of the 10,000 repeat one). ``limit`` reads only
    the first rows, and so only their documents.
    """
    path = Path(path)
    _check_limit(limit)
    data, digest = _read_source(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError("not UTF-8 text", path=path, line=data[: exc.start].count(b"\n") + 1) from exc

    documents: list[InlineDocument] = []
    document_of: dict[str, str] = {}
    rows: list[EvalRow] = []
    asked: set[str] = set()
    duplicate_questions = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        if limit is not None and len(rows) >= limit:
            break
        if not raw.strip():
            continue
        try:
            item = _HaluRow.model_validate_json(raw)
        except ValidationError as exc:
            raise DatasetError(f"not a HaluEval QA row: {_validation_message(exc)}", path=path, line=number) from exc
        question = item.question.strip()
        if question in asked:
            duplicate_questions += 1
            continue
        asked.add(question)
        try:
            knowledge = item.knowledge
            doc_name = document_of.get(knowledge)
            if doc_name is None:
                doc_name = f"halu-{number:05d}.txt"
                documents.append(InlineDocument(doc_name, knowledge))
                document_of[knowledge] = doc_name
            answer = item.right_answer.strip()
            rows.append(
                EvalRow(
                    id=f"halu-{number:05d}",
                    user_input=question,
                    reference=(answer,) if answer else (),
                    reference_contexts=(knowledge,),
                    reference_sources=(doc_name,),
                    language=detect_language(knowledge),
                    metadata={"hallucinated_answer": item.hallucinated_answer},
                )
            )
        except DatasetError as exc:
            raise exc.at(path, number) from exc
    if not rows:
        raise DatasetError("no questions", path=path)

    provenance = {
        "importer": "halueval",
        "source_file": path.name,
        "sha256": digest,
        "rows": len(rows),
        "documents": len(documents),
        "duplicate_knowledge_shared": len(rows) - len(documents),
        "duplicate_questions_dropped": duplicate_questions,
        "limit": limit,
    }
    description = f"HaluEval QA from {path.name}: right answers as reference, hallucinated ones in metadata"
    return _header(path.stem, description, documents, provenance), rows


# --------------------------------------------------------------------------- CSV


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
    data, digest = _read_source(path)
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
    return _header(path.stem, f"Questions from {path.name}", None, provenance), rows
