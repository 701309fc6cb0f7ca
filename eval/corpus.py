"""Corpus specs on disk: the sibling manifest of a dataset, turning a parsed ``corpus`` object into a
:class:`CorpusSpec`, and :func:`materialize_corpus`, which makes the corpus files ready to ingest."""

from __future__ import annotations

from pathlib import Path

from eval.dataset_parse import CorpusModel, parse_json, read_text, validate
from eval.dataset_types import MANIFEST_SUFFIX, CorpusSpec, InlineDocument, document_name_problem
from rag.errors import DatasetError

__all__ = ["corpus_from_model", "manifest_path", "materialize_corpus", "read_manifest"]


def manifest_path(dataset_path: Path) -> Path:
    """The sibling corpus manifest of a dataset file: ``questions.jsonl.corpus.json``."""
    return dataset_path.with_name(dataset_path.name + MANIFEST_SUFFIX)


def corpus_from_model(
    model: CorpusModel, base: Path, origin: str, path: Path | str, line: int | None, prefix: str = "corpus."
) -> CorpusSpec:
    """The :class:`CorpusSpec` of a parsed ``corpus`` object; relative ``paths`` are resolved against ``base``.

    A problem is a :class:`DatasetError` at ``path``/``line``, naming the key with ``prefix``.
    """
    try:
        if model.paths is not None:
            if not model.paths:
                raise DatasetError(f'"{prefix}paths" is empty')
            for i, entry in enumerate(model.paths):
                if not entry.strip():
                    raise DatasetError(f'"{prefix}paths[{i}]" is empty')
            return CorpusSpec(paths=tuple(base / entry for entry in model.paths), origin=origin)
        if not model.documents:
            raise DatasetError(f'"{prefix}documents" is empty')
        documents = []
        for i, doc in enumerate(model.documents):
            try:
                documents.append(InlineDocument(doc.name, doc.text))
            except DatasetError as exc:
                raise DatasetError(f'"{prefix}documents[{i}]": {exc.reason}') from exc
        try:
            return CorpusSpec(documents=tuple(documents), origin=origin)
        except DatasetError as exc:
            raise DatasetError(f'"{prefix}documents": {exc.reason}') from exc
    except DatasetError as exc:
        raise exc.at(path, line) from exc


def read_manifest(manifest: Path, base: Path) -> CorpusSpec:
    """The corpus named by the manifest file ``manifest`` (see :func:`manifest_path`)."""
    obj = parse_json(read_text(manifest), manifest, None)
    model = validate(CorpusModel, obj, manifest, None)
    return corpus_from_model(model, base, manifest.name, manifest, None, prefix="")


def materialize_corpus(spec: CorpusSpec, folder: Path | str) -> list[Path]:
    """The corpus as files on disk, ready to ingest.

    Paths are checked and returned resolved (``folder`` is not used). Inline documents
    are written into ``folder`` (created if needed; give each dataset its own folder, as
    files already there are left alone and not returned) and their paths returned.
    """
    if spec.paths:
        resolved = []
        for entry in spec.paths:
            if not entry.exists():
                origin = f" (named in {spec.origin})" if spec.origin else ""
                raise DatasetError(f"corpus path {entry} does not exist{origin}")
            resolved.append(entry.resolve())
        return resolved

    target_dir = Path(folder).resolve()
    targets = []
    for doc in spec.documents:
        # checked again here: this is the place where a bad name would write outside the folder
        problem = document_name_problem(doc.name)
        target = target_dir / doc.name
        if problem or target.parent != target_dir:
            raise DatasetError(f'document name "{doc.name}" {problem or "is not a plain file name"}')
        targets.append((target, doc.text))
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        for target, text in targets:
            target.write_bytes(text.encode("utf-8"))  # bytes: no newline translation, offsets stay exact
    except OSError as exc:
        raise DatasetError(f"cannot write the corpus into {target_dir}: {exc.strerror or exc}") from exc
    return [target for target, _ in targets]
