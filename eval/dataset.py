"""Evaluation datasets: one JSONL file of questions, optionally with its corpus.

The format is described in ``docs/evaluation-format.md``. In short: an optional first
line ``{"rag_eval": 1, "name": ..., "corpus": ...}``, then one question per line with the
field names the field already uses (``user_input``, ``reference``, ``reference_contexts``).

Pydantic checks the shape of each line at this edge; the rest of the code sees only the
frozen dataclasses below. Every problem is a :class:`DatasetError` whose message names
the file and the line, e.g. ``questions.jsonl line 7: "user_input" is missing``.
"""

from __future__ import annotations

import difflib
import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from rag.errors import DatasetError

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

FORMAT_VERSION = 1
HEADER_KEY = "rag_eval"
MANIFEST_SUFFIX = ".corpus.json"
DOCUMENT_SUFFIXES = (".txt", ".md")
EXTENSION_PREFIX = "x_"


# --------------------------------------------------------------------------- domain


def _document_name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    if "/" in name or "\\" in name or ":" in name:
        return "must be a plain file name (no path separators or ':')"
    if ".." in name or name.startswith("."):
        return "must not contain '..' or start with '.'"
    if any(ord(ch) < 32 for ch in name):
        return "must not contain control characters"
    if not name.lower().endswith(DOCUMENT_SUFFIXES):
        return f"must end in {' or '.join(DOCUMENT_SUFFIXES)}"
    return None


@dataclass(frozen=True, slots=True)
class InlineDocument:
    """A corpus document carried inside the dataset: written to ``name`` before ingesting."""

    name: str
    text: str

    def __post_init__(self) -> None:
        problem = _document_name_problem(self.name)
        if problem:
            raise DatasetError(f'document name "{self.name}" {problem}')
        if not self.text.strip():
            raise DatasetError(f'document "{self.name}" has no text')


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """Where the corpus of a dataset is: files and folders (``paths``) or inline ``documents``.

    Exactly one of the two is non-empty. ``origin`` says where the spec came from, for messages.
    """

    paths: tuple[Path, ...] = ()
    documents: tuple[InlineDocument, ...] = ()
    origin: str = ""

    def __post_init__(self) -> None:
        if bool(self.paths) == bool(self.documents):
            raise DatasetError('a corpus needs either "paths" or "documents" (exactly one, not empty)')
        seen: dict[str, str] = {}
        for doc in self.documents:
            # casefolded: two names differing only in case collide on macOS and Windows disks
            key = doc.name.casefold()
            if key in seen:
                raise DatasetError(f'document name "{doc.name}" is used twice (also "{seen[key]}")')
            seen[key] = doc.name


@dataclass(frozen=True, slots=True)
class EvalRow:
    """One question, what counts as a right answer, and where the answer is.

    ``reference`` holds the acceptable answers (empty when only retrieval is judged, and
    always empty when ``answerable`` is false). ``reference_sources`` names corpus documents.
    ``extras`` keeps the row's ``x_`` keys so a rewrite does not lose them.
    """

    id: str
    user_input: str
    reference: tuple[str, ...] = ()
    reference_contexts: tuple[str, ...] = ()
    reference_sources: tuple[str, ...] = ()
    answerable: bool = True
    language: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise DatasetError('"id" is empty')
        if not self.user_input.strip():
            raise DatasetError('"user_input" is empty')
        for name in ("reference", "reference_contexts", "reference_sources"):
            values = getattr(self, name)
            if isinstance(values, str):
                raise DatasetError(f'"{name}" must be a sequence of strings, not one string')
            values = tuple(values)
            object.__setattr__(self, name, values)  # lists given by callers become tuples
            for i, value in enumerate(values):
                if not value.strip():
                    raise DatasetError(f'"{name}[{i}]" is empty')
        if not self.answerable and self.reference:
            raise DatasetError('"answerable" is false but "reference" is not empty')
        for key in self.extras:
            if not key.startswith(EXTENSION_PREFIX):
                raise DatasetError(f'extra key "{key}" must start with "{EXTENSION_PREFIX}"')


@dataclass(frozen=True, slots=True)
class EvalDataset:
    """A loaded dataset. ``header`` is the first line as written ({} when there is none);
    ``corpus`` is None when neither the file, a manifest nor the caller names one."""

    path: Path
    name: str
    rows: tuple[EvalRow, ...]
    corpus: CorpusSpec | None
    header: Mapping[str, Any]

    def __len__(self) -> int:
        return len(self.rows)


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


class _CorpusModel(_Model):
    paths: list[str] | None = None
    documents: list[_DocumentModel] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _CorpusModel:
        if (self.paths is None) == (self.documents is None):
            raise ValueError('a corpus needs either "paths" or "documents" (exactly one)')
        return self


class _HeaderModel(_Model):
    rag_eval: int
    name: str | None = None
    description: str | None = None
    corpus: _CorpusModel | None = None
    provenance: dict[str, Any] | None = None


class _RowModel(_Model):
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


def _validate(model: type[_M], data: Any, path: Path | str, line: int | None) -> _M:
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


def _parse_json(text: str, path: Path | str, line: int | None) -> Any:
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


def _read_text(path: Path) -> str:
    data = read_input_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError("not UTF-8 text (save the file as UTF-8)", path=path, line=line) from exc


def manifest_path(dataset_path: Path) -> Path:
    """The sibling corpus manifest of a dataset file: ``questions.jsonl.corpus.json``."""
    return dataset_path.with_name(dataset_path.name + MANIFEST_SUFFIX)


def _corpus_from_model(
    model: _CorpusModel, base: Path, origin: str, path: Path | str, line: int | None, prefix: str = "corpus."
) -> CorpusSpec:
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


def _read_header(obj: dict[str, Any], path: Path, line: int) -> _HeaderModel:
    version = obj[HEADER_KEY]
    if isinstance(version, int) and not isinstance(version, bool) and version != FORMAT_VERSION:
        raise DatasetError(
            f"format version {version} is not supported (this release reads version {FORMAT_VERSION})", path=path, line=line
        )
    return _validate(_HeaderModel, obj, path, line)


def _read_manifest(manifest: Path, base: Path) -> CorpusSpec:
    obj = _parse_json(_read_text(manifest), manifest, None)
    model = _validate(_CorpusModel, obj, manifest, None)
    return _corpus_from_model(model, base, manifest.name, manifest, None, prefix="")


def load_dataset(path: Path | str, corpus_override: Sequence[Path] | None = None) -> EvalDataset:
    """Read and check a dataset file.

    The corpus comes from ``corpus_override`` (the caller's ``--corpus``) if given, else
    the header's ``corpus``, else the sibling manifest ``<file name>.corpus.json``, else
    it is None. Relative corpus paths are resolved against the dataset file's folder
    (those of ``corpus_override`` against the working directory). Nothing is checked on
    disk here beyond the dataset and manifest files: see :func:`materialize_corpus`.
    """
    path = Path(path)
    text = _read_text(path)
    base = path.resolve().parent
    header: dict[str, Any] = {}
    header_model: _HeaderModel | None = None
    rows: list[EvalRow] = []
    header_line = 1
    first_line_of: dict[str, int] = {}
    seen_content = False

    for number, raw in enumerate(text.split("\n"), start=1):  # not splitlines(): JSON strings may hold U+2028
        if not raw.strip():
            continue
        obj = _parse_json(raw, path, number)
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
        model = _validate(_RowModel, obj, path, number)
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
        corpus = _corpus_from_model(header_model.corpus, base, f"{path.name} header", path, header_line)
    if corpus_override is not None:
        if not corpus_override:
            raise DatasetError("the corpus given for this dataset names no files or folders", path=path)
        corpus = CorpusSpec(paths=tuple(Path(p).resolve() for p in corpus_override), origin="--corpus")
    elif corpus is None and manifest_path(path).is_file():
        corpus = _read_manifest(manifest_path(path), base)

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
        model = _validate(_HeaderModel, full, path, None)
        if model.corpus is not None:
            _corpus_from_model(model.corpus, path.parent, "header", path, None)
        lines.append(_dump(full, path, "the header"))
    lines.extend(_dump(_row_json(row), path, f'row "{row.id}"') for row in rows)

    path.parent.mkdir(parents=True, exist_ok=True)
    # opened with "x" (not mkstemp) so the file gets the usual permissions from the umask
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DatasetError(f"cannot write: {exc.strerror or exc}", path=path) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- corpus


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
        problem = _document_name_problem(doc.name)
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
