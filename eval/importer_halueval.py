"""The HaluEval QA importer: every knowledge text an inline document, every question a row with the
right answer as reference and the hallucinated one in metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.dataset import DatasetError, EvalRow, InlineDocument
from eval.importer_common import Lenient, check_limit, dataset_header, read_source, validation_message
from rag.text.language import detect_language

__all__ = ["import_halueval"]


class _HaluRow(Lenient):
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
    check_limit(limit)
    data, digest = read_source(path)
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
            raise DatasetError(f"not a HaluEval QA row: {validation_message(exc)}", path=path, line=number) from exc
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
    return dataset_header(path.stem, description, documents, provenance), rows
