from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.dataset import (
    CorpusSpec,
    DatasetError,
    EvalRow,
    InlineDocument,
    load_dataset,
    manifest_path,
    materialize_corpus,
    write_dataset,
)
from rag.errors import RAGError


def write_lines(path: Path, *objects: Any) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n" for o in objects), encoding="utf-8")
    return path


ROWS = (
    EvalRow(
        id="q1",
        user_input="提现需要多长时间？",
        reference=("一个工作日", "1个工作日"),
        reference_contexts=("提现通常需要一个工作日。",),
        reference_sources=("faq.txt",),
        language="zh",
        metadata={"difficulty": 2, "tags": ["withdrawal"]},
        extras={"x_note": "checked"},
    ),
    EvalRow(id="q2", user_input="Who founded the exchange?", answerable=False),
    # U+2028 is a line break to str.splitlines() but legal inside a JSON string
    EvalRow(id="q3", user_input="line\u2028separator", reference=("a\u2029b",)),
)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "questions.jsonl"
    header = {"name": "faq", "description": "d", "provenance": {"by": "hand"}, "corpus": {"paths": ["docs/"]}}
    write_dataset(path, ROWS, header)

    dataset = load_dataset(path)
    assert dataset.rows == ROWS
    assert dataset.name == "faq"
    assert dataset.header == {"rag_eval": 1, **header}
    assert len(dataset) == 3
    assert json.loads(path.read_text(encoding="utf-8").split("\n")[0])["rag_eval"] == 1
    assert not [p for p in path.parent.iterdir() if p.name != "questions.jsonl"]  # no temporary file left


def test_write_replaces_atomically_and_keeps_old_file_on_error(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    write_dataset(path, ROWS[:1])
    bad = EvalRow(id="q9", user_input="q", metadata={"x": object()})
    with pytest.raises(DatasetError, match='row "q9" cannot be written as JSON'):
        write_dataset(path, [bad])
    assert load_dataset(path).rows == ROWS[:1]
    assert [p.name for p in tmp_path.iterdir()] == ["q.jsonl"]


def test_write_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match='duplicate id "q1"'):
        write_dataset(tmp_path / "q.jsonl", [ROWS[0], ROWS[0]])
    with pytest.raises(DatasetError, match="no questions"):
        write_dataset(tmp_path / "q.jsonl", [])
    with pytest.raises(DatasetError, match='unknown key "nmae"'):
        write_dataset(tmp_path / "q.jsonl", ROWS, {"nmae": "x"})
    with pytest.raises(DatasetError, match=r"\.\./x\.txt"):
        write_dataset(tmp_path / "q.jsonl", ROWS, {"corpus": {"documents": [{"name": "../x.txt", "text": "t"}]}})
    assert not (tmp_path / "q.jsonl").exists()


def test_defaults_without_header(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "plain.jsonl", {"user_input": "q", "reference": "only answer"}, "", {"id": "b", "user_input": "r"})
    dataset = load_dataset(path)
    assert dataset.name == "plain"
    assert dataset.header == {}
    assert dataset.corpus is None
    first, second = dataset.rows
    assert first.id == "row-1"
    assert first.reference == ("only answer",)
    assert first.answerable is True and first.language is None and first.metadata == {}
    assert second.id == "b" and second.reference == ()


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"user_input": "q"}).encode() + b"\r\n")
    assert load_dataset(path).rows[0].user_input == "q"


def test_inline_corpus_in_header_is_materialized(tmp_path: Path) -> None:
    docs = [{"name": "p0001.txt", "text": "第一段。\r\n保留原样"}, {"name": "notes.md", "text": "# Notes"}]
    path = write_lines(tmp_path / "q.jsonl", {"rag_eval": 1, "name": "inline", "corpus": {"documents": docs}}, {"user_input": "q"})
    dataset = load_dataset(path)
    assert dataset.corpus == CorpusSpec(
        documents=(InlineDocument("p0001.txt", "第一段。\r\n保留原样"), InlineDocument("notes.md", "# Notes")),
        origin="q.jsonl header",
    )
    files = materialize_corpus(dataset.corpus, tmp_path / "corpus")
    assert files == [(tmp_path / "corpus" / "p0001.txt").resolve(), (tmp_path / "corpus" / "notes.md").resolve()]
    assert files[0].read_bytes() == "第一段。\r\n保留原样".encode()  # exact text, no newline translation


def test_corpus_paths_resolve_against_the_dataset_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "docs").mkdir(parents=True)
    (tmp_path / "data" / "faq.txt").write_text("faq", encoding="utf-8")
    write_lines(tmp_path / "data" / "q.jsonl", {"rag_eval": 1, "corpus": {"paths": ["docs/", "faq.txt"]}}, {"user_input": "q"})
    monkeypatch.chdir(tmp_path)  # elsewhere: the paths must not depend on the working directory
    dataset = load_dataset(Path("data/q.jsonl"))
    assert dataset.corpus is not None
    files = materialize_corpus(dataset.corpus, tmp_path / "unused")
    assert files == [(tmp_path / "data" / "docs").resolve(), (tmp_path / "data" / "faq.txt").resolve()]
    assert not (tmp_path / "unused").exists()


def test_missing_corpus_path_is_reported_at_materialize(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", {"rag_eval": 1, "corpus": {"paths": ["nowhere/"]}}, {"user_input": "q"})
    dataset = load_dataset(path)  # loading does not need the corpus (the runner may have an index)
    assert dataset.corpus is not None
    with pytest.raises(DatasetError, match=r"corpus path .*nowhere does not exist \(named in q\.jsonl header\)"):
        materialize_corpus(dataset.corpus, tmp_path / "c")


def test_sibling_manifest_is_used_when_header_has_no_corpus(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", {"rag_eval": 1, "name": "m"}, {"user_input": "q"})
    manifest = manifest_path(path)
    assert manifest.name == "q.jsonl.corpus.json"
    manifest.write_text(json.dumps({"paths": ["docs"]}), encoding="utf-8")
    dataset = load_dataset(path)
    assert dataset.corpus == CorpusSpec(paths=(tmp_path.resolve() / "docs",), origin="q.jsonl.corpus.json")


def test_header_corpus_wins_over_manifest(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", {"rag_eval": 1, "corpus": {"paths": ["a"]}}, {"user_input": "q"})
    manifest_path(path).write_text(json.dumps({"paths": ["b"]}), encoding="utf-8")
    corpus = load_dataset(path).corpus
    assert corpus is not None and corpus.paths == (tmp_path.resolve() / "a",)


def test_override_wins_over_header_and_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "q.jsonl", {"rag_eval": 1, "corpus": {"paths": ["a"]}}, {"user_input": "q"})
    manifest_path(path).write_text("{broken", encoding="utf-8")  # not even read when overridden
    monkeypatch.chdir(tmp_path)
    corpus = load_dataset(path, corpus_override=[Path("mine"), tmp_path / "other.txt"]).corpus
    assert corpus == CorpusSpec(paths=(tmp_path.resolve() / "mine", (tmp_path / "other.txt").resolve()), origin="--corpus")
    with pytest.raises(DatasetError, match="names no files"):
        load_dataset(path, corpus_override=[])


def test_broken_manifest_names_the_manifest(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", {"user_input": "q"})
    manifest_path(path).write_text(json.dumps({"documents": [{"name": "a/b.txt", "text": "t"}]}), encoding="utf-8")
    with pytest.raises(DatasetError, match=r'q\.jsonl\.corpus\.json: "documents\[0\]": document name "a/b\.txt" must be a plain file name'):
        load_dataset(path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"user_input": "q"}, {"user_input": "q"}, {"id": "x"}], 'line 3: "user_input" is missing'),
        ([{"user_input": "q"}, '{"user_input": "q",'], "line 2: invalid JSON: Expecting property name"),
        (["", "[1, 2]"], r"line 2: a line must be a JSON object \{\.\.\.\}, got an array"),
        ([{"user_input": 7}], 'line 1: "user_input" must be a string'),
        ([{"user_input": "  "}], 'line 1: "user_input" is empty'),
        ([{"user_input": "q", "reference": 3}], 'line 1: "reference" must be a string or a list of strings'),
        ([{"user_input": "q", "reference": ["a", 3]}], r'line 1: "reference\[1\]" must be a string'),
        ([{"user_input": "q", "reference_sources": "a.txt"}], 'line 1: "reference_sources" must be a list'),
        ([{"user_input": "q", "answerable": "yes"}], 'line 1: "answerable" must be true or false'),
        ([{"user_input": "q", "metadata": []}], 'line 1: "metadata" must be an object'),
        ([{"user_input": "q", "answerable": False, "reference": "a"}], 'line 1: "answerable" is false but "reference" is not empty'),
        ([{"user_input": "q", "refrence": ["a"]}], 'line 1: unknown key "refrence" \\(did you mean "reference"\\?'),
        (['{"user_input": "q", "user_input": "r"}'], 'line 1: key "user_input" appears twice'),
        ([{"id": "a", "user_input": "q"}, {"user_input": "r"}, {"id": "a", "user_input": "s"}], 'line 3: duplicate id "a" \\(first on line 1\\)'),
        ([{"user_input": "q"}, {"rag_eval": 1}], 'line 2: a "rag_eval" header is only allowed on the first line'),
        ([{"rag_eval": 2}, {"user_input": "q"}], "line 1: format version 2 is not supported"),
        ([{"rag_eval": True}, {"user_input": "q"}], 'line 1: "rag_eval" must be an integer'),
        ([{"rag_eval": 1, "titel": "x"}, {"user_input": "q"}], 'line 1: unknown key "titel"'),
        ([{"rag_eval": 1, "corpus": {}}, {"user_input": "q"}], 'line 1: "corpus": a corpus needs either "paths" or "documents"'),
        ([{"rag_eval": 1, "corpus": {"paths": "docs"}}, {"user_input": "q"}], 'line 1: "corpus.paths" must be a list'),
        ([{"rag_eval": 1, "corpus": {"documents": []}}, {"user_input": "q"}], 'line 1: "corpus.documents" is empty'),
        (
            [{"rag_eval": 1, "corpus": {"documents": [{"name": "../x.txt", "text": "t"}]}}, {"user_input": "q"}],
            r'line 1: "corpus.documents\[0\]": document name "../x.txt" must be a plain file name',
        ),
        (
            [{"rag_eval": 1, "corpus": {"documents": [{"name": "a.pdf", "text": "t"}]}}, {"user_input": "q"}],
            r'line 1: "corpus.documents\[0\]": document name "a.pdf" must end in .txt or .md',
        ),
        (
            [{"rag_eval": 1, "corpus": {"documents": [{"name": "a.txt", "text": " "}]}}, {"user_input": "q"}],
            r'line 1: "corpus.documents\[0\]": document "a.txt" has no text',
        ),
        (
            [{"rag_eval": 1, "corpus": {"documents": [{"name": "a.txt", "text": "t"}, {"name": "A.txt", "text": "u"}]}}, {"user_input": "q"}],
            'line 1: "corpus.documents": document name "A.txt" is used twice',
        ),
        ([{"rag_eval": 1}], r"questions\.jsonl: a header but no questions"),
        ([], r"questions\.jsonl: no questions \(the file is empty\)"),
        (["", "  "], r"questions\.jsonl: no questions"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, lines: list[Any], message: str) -> None:
    path = write_lines(tmp_path / "questions.jsonl", *lines)
    with pytest.raises(DatasetError, match=message) as info:
        load_dataset(path)
    assert str(info.value).startswith(str(path))
    assert isinstance(info.value, RAGError)


def test_x_keys_are_kept_and_unknown_keys_refused(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", {"rag_eval": 1, "x_owner": "me"}, {"user_input": "q", "x_note": [1, 2]})
    assert load_dataset(path).rows[0].extras == {"x_note": [1, 2]}


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"user_input": "q"}\n{"user_input": "' + "提现".encode("gbk") + b'"}\n')
    with pytest.raises(DatasetError, match=r"q\.jsonl line 2: not UTF-8 text"):
        load_dataset(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope\.jsonl: no such file"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="is a folder"):
        load_dataset(tmp_path)


def test_materialize_rejects_a_name_that_leaves_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r'"\.\./x\.txt" must be a plain file name'):
        materialize_corpus(CorpusSpec(documents=(InlineDocument("../x.txt", "escape"),)), tmp_path / "corpus")
    assert not (tmp_path / "x.txt").exists()
    assert not (tmp_path / "corpus").exists()


@pytest.mark.parametrize("name", ["../x.txt", "a/b.txt", "a\\b.txt", "..x.txt", ".hidden.txt", "C:x.txt", "x.pdf", "x", ""])
def test_inline_document_names_are_plain_txt_or_md_file_names(name: str) -> None:
    with pytest.raises(DatasetError, match="document name"):
        InlineDocument(name, "text")


def test_row_invariants() -> None:
    with pytest.raises(DatasetError, match='"answerable" is false'):
        EvalRow(id="a", user_input="q", reference=("x",), answerable=False)
    with pytest.raises(DatasetError, match="not one string"):
        EvalRow(id="a", user_input="q", reference="x")  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match='extra key "note"'):
        EvalRow(id="a", user_input="q", extras={"note": 1})
    assert EvalRow(id="a", user_input="q", reference=["x"]).reference == ("x",)  # type: ignore[arg-type]
