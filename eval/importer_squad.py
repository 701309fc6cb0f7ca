"""The SQuAD v1.1 importer (XQuAD, CMRC2018): every paragraph an inline document, every question a row,
optionally with unanswerable questions sampled from another file."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.dataset import DatasetError, EvalRow, InlineDocument
from eval.importer_common import Lenient, check_limit, dataset_header, read_source, validation_message
from rag.text.language import detect_language

__all__ = ["import_squad"]


class _SquadAnswer(Lenient):
    text: str


class _SquadQA(Lenient):
    id: str
    question: str
    answers: list[_SquadAnswer] = []
    is_impossible: bool = False  # SQuAD 2.0; absent in v1.1


class _SquadParagraph(Lenient):
    context: str
    qas: list[_SquadQA]


class _SquadArticle(Lenient):
    title: str = ""
    paragraphs: list[_SquadParagraph]


class _SquadFile(Lenient):
    data: list[_SquadArticle]


def _unique_in_order(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


def _read_squad(path: Path) -> tuple[_SquadFile, str]:
    data, digest = read_source(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError("not UTF-8 text", path=path) from exc
    try:
        return _SquadFile.model_validate_json(text), digest
    except ValidationError as exc:
        raise DatasetError(f"not a SQuAD v1.1 file: {validation_message(exc)}", path=path) from exc


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
    check_limit(limit)
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
    return dataset_header(name or path.stem, description, content.documents, provenance), rows
