from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from eval.dataset import DatasetError, EvalRow, load_dataset, materialize_corpus
from eval.importers import import_csv, import_halueval, import_squad, write_import

DATA = Path(__file__).parent / "data"
XQUAD = DATA / "xquad.zh.sample.json"
CMRC_TRIAL = DATA / "cmrc2018_trial.sample.json"
CMRC_DEV = DATA / "cmrc2018_dev.sample.json"
HALUEVAL = DATA / "halueval_qa.sample.jsonl"
REAL_XQUAD_ZH = Path(__file__).resolve().parents[3] / "shared" / "data" / "xquad" / "xquad.zh.json"


def by_id(rows: list[EvalRow]) -> dict[str, EvalRow]:
    return {row.id: row for row in rows}


# --------------------------------------------------------------------------- SQuAD


def test_squad_paragraphs_become_documents_and_questions_rows() -> None:
    header, rows = import_squad(XQUAD)
    documents = header["corpus"]["documents"]
    assert [d["name"] for d in documents] == [f"{a:03d}-{p:03d}.txt" for a in range(2) for p in range(5)]
    raw = json.loads(XQUAD.read_text(encoding="utf-8"))
    assert documents[6]["text"] == raw["data"][1]["paragraphs"][1]["context"]

    assert len(rows) == 100  # 104 questions, 4 asked twice of the same paragraph
    texts = {d["name"]: d["text"] for d in documents}
    for row in rows:
        assert row.answerable and row.language == "zh"
        assert row.reference_contexts == (texts[row.reference_sources[0]],)
        assert all(answer in row.reference_contexts[0] for answer in row.reference)  # spans of the gold paragraph
    first = rows[0]
    assert first.id == raw["data"][0]["paragraphs"][0]["qas"][0]["id"]
    assert first.user_input == raw["data"][0]["paragraphs"][0]["qas"][0]["question"].strip()

    provenance = header["provenance"]
    assert provenance["source_file"] == "xquad.zh.sample.json"
    assert provenance["sha256"] == hashlib.sha256(XQUAD.read_bytes()).hexdigest()
    assert (provenance["questions"], provenance["duplicate_questions_merged"], provenance["rows"]) == (104, 4, 100)
    assert header["name"] == "xquad.zh.sample"
    assert import_squad(XQUAD, name="xquad-zh")[0]["name"] == "xquad-zh"


def test_squad_duplicate_question_keeps_the_first_row_with_every_answer() -> None:
    _, rows = import_squad(XQUAD)
    merged = by_id(rows)["56dfb5777aa994140058e023"]
    assert merged.user_input == "特斯拉电力照明与制造公司做了什么？"
    assert merged.reference == ("安装了 由特斯拉设计的", "安装了 由特斯拉设计的 电弧灯照明系统")
    assert merged.metadata == {"merged_ids": ["56e0d6cf231d4119001ac423"]}
    assert "56e0d6cf231d4119001ac423" not in by_id(rows)
    assert len({row.user_input for row in rows}) == len(rows)


def test_cmrc_answers_are_stripped_and_deduplicated() -> None:
    header, rows = import_squad(CMRC_DEV)
    assert by_id(rows)["DEV_158_QUERY_1"].reference == ("1999年",)  # given as "1999年", "1999年", " 1999年"
    # asked of two passages (two rivers named Avon): the first stays, the second is dropped
    assert by_id(rows)["DEV_519_QUERY_0"].reference_sources == ("001-000.txt",)
    assert "DEV_525_QUERY_0" not in by_id(rows)
    assert header["provenance"]["duplicate_questions_dropped"] == 1
    assert len(header["corpus"]["documents"]) == 3


def test_cmrc_empty_questions_are_skipped() -> None:
    header, rows = import_squad(CMRC_TRIAL)
    assert "TRIAL_20_QUERY_0" not in by_id(rows)  # its question is ""
    assert header["provenance"]["empty_questions_skipped"] == 1
    assert by_id(rows)["TRIAL_21_QUERY_1"].reference == ("过敏反应包括打喷嚏、喉咙肿胀以及麻疹，需要及时救治，且可能致命。",)


def test_squad_limit_keeps_every_document() -> None:
    header, rows = import_squad(XQUAD, limit=5)
    assert [row.id for row in rows] == [row.id for row in import_squad(XQUAD)[1][:5]]
    assert len(header["corpus"]["documents"]) == 10  # the distractors stay
    assert header["provenance"]["limit"] == 5
    with pytest.raises(DatasetError, match="limit must be a positive number"):
        import_squad(XQUAD, limit=0)


def test_squad_unanswerable_questions_from_another_file() -> None:
    header, rows = import_squad(XQUAD, unanswerable_from=CMRC_TRIAL, unanswerable=3, seed=7)
    added = rows[100:]
    assert len(added) == 3
    trial_ids = {row.id for row in import_squad(CMRC_TRIAL)[1]}
    for row in added:
        assert row.id.startswith("unans-") and row.id.removeprefix("unans-") in trial_ids
        assert not row.answerable and row.reference == () and row.reference_sources == ()
        assert row.metadata == {"unanswerable_source": "cmrc2018_trial.sample.json"}
    # deterministic for a seed, and the seed matters
    assert [r.id for r in import_squad(XQUAD, unanswerable_from=CMRC_TRIAL, unanswerable=3, seed=7)[1][100:]] == [r.id for r in added]
    samples = {tuple(r.id for r in import_squad(XQUAD, unanswerable_from=CMRC_TRIAL, unanswerable=3, seed=s)[1][100:]) for s in range(6)}
    assert len(samples) > 1
    unans = header["provenance"]["unanswerable"]
    assert unans["source_file"] == "cmrc2018_trial.sample.json" and unans["seed"] == 7 and unans["rows"] == 3
    assert header["provenance"]["rows"] == 103
    assert len(header["corpus"]["documents"]) == 10  # the other file's passages are not added


def test_squad_unanswerable_errors() -> None:
    with pytest.raises(DatasetError, match="has 7 usable questions, 8 were asked for"):
        import_squad(XQUAD, unanswerable_from=CMRC_TRIAL, unanswerable=8)
    with pytest.raises(DatasetError, match="need a file"):
        import_squad(XQUAD, unanswerable=2)


def test_squad_import_round_trips_through_the_dataset_file(tmp_path: Path) -> None:
    header, rows = import_squad(XQUAD, unanswerable_from=CMRC_TRIAL, unanswerable=2)
    out = tmp_path / "xquad.jsonl"
    write_import(out, header, rows)
    dataset = load_dataset(out)
    assert dataset.rows == tuple(rows)
    assert dataset.header["provenance"] == header["provenance"]
    assert dataset.corpus is not None
    files = materialize_corpus(dataset.corpus, tmp_path / "corpus")
    assert sorted(f.name for f in files) == sorted(d["name"] for d in header["corpus"]["documents"])
    gold = {s for row in rows for s in row.reference_sources}
    assert gold <= {f.name for f in files}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not a SQuAD v1.1 file: Invalid JSON"),
        ('{"data": [{"paragraphs": [{"qas": []}]}]}', r'data\[0\]\.paragraphs\[0\]: "context" is missing'),
        ('{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": 1, "question": "q"}]}]}]}', r"qas\[0\]\.id: Input should be a valid string"),
        ('{"data": [{"paragraphs": [{"context": " ", "qas": []}]}]}', r'data\[0\]\.paragraphs\[0\]: document "000-000.txt" has no text'),
        (
            '{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "a", "question": "q"}, {"id": "a", "question": "r"}]}]}]}',
            r'qas\[1\]: duplicate id "a"',
        ),
        ('{"data": []}', "no questions"),
    ],
)
def test_squad_errors_name_the_file_and_place(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message) as info:
        import_squad(path)
    assert str(info.value).startswith(str(path))


def test_squad_2_unanswerable_questions_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "v2.json"
    qas = [
        {"id": "a", "question": "Q1?", "answers": [{"text": "x", "answer_start": 0}]},
        {"id": "b", "question": "Q2?", "answers": [], "is_impossible": True, "plausible_answers": [{"text": "x"}]},
    ]
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": "x y", "qas": qas}]}]}), encoding="utf-8")
    _, rows = import_squad(path)
    assert [(r.answerable, r.reference, r.language) for r in rows] == [(True, ("x",), "en"), (False, (), "en")]


@pytest.mark.skipif(not REAL_XQUAD_ZH.exists(), reason=f"shared evaluation data not available: {REAL_XQUAD_ZH}")
def test_real_xquad_zh_counts(tmp_path: Path) -> None:
    raw = json.loads(REAL_XQUAD_ZH.read_text(encoding="utf-8"))
    questions = [qa["question"] for article in raw["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    header, rows = import_squad(REAL_XQUAD_ZH)
    assert len(header["corpus"]["documents"]) == 240
    assert len(rows) == len(set(questions)) == 1181  # as in shared/data/xquad/REPRODUCED.txt
    assert header["provenance"]["questions"] == len(questions) == 1190
    out = tmp_path / "xquad-zh.jsonl"
    write_import(out, header, rows)
    assert len(load_dataset(out)) == 1181


# --------------------------------------------------------------------------- HaluEval


def test_halueval_rows_and_documents() -> None:
    header, rows = import_halueval(HALUEVAL)
    lines = [json.loads(line) for line in HALUEVAL.read_text(encoding="utf-8").splitlines()]
    assert [row.id for row in rows] == [f"halu-{n:05d}" for n in range(1, 6)]
    assert header["corpus"]["documents"] == [{"name": f"halu-{n:05d}.txt", "text": line["knowledge"]} for n, line in enumerate(lines, 1)]
    second = rows[1]
    assert second.user_input == lines[1]["question"]
    assert second.reference == (lines[1]["right_answer"],)
    assert second.reference_contexts == (lines[1]["knowledge"],)
    assert second.reference_sources == ("halu-00002.txt",)
    assert second.metadata == {"hallucinated_answer": lines[1]["hallucinated_answer"]}
    assert second.language == "en"
    assert header["provenance"]["sha256"] == hashlib.sha256(HALUEVAL.read_bytes()).hexdigest()


def test_halueval_limit_and_shared_knowledge(tmp_path: Path) -> None:
    header, rows = import_halueval(HALUEVAL, limit=2)
    assert len(rows) == 2 and len(header["corpus"]["documents"]) == 2

    path = tmp_path / "halu.jsonl"
    same = {"knowledge": "K is a letter.", "right_answer": "a letter", "hallucinated_answer": "a number"}
    path.write_text("\n".join(json.dumps({**same, "question": q}) for q in ("What is K?", "Is K a letter?")), encoding="utf-8")
    header, rows = import_halueval(path)
    assert [d["name"] for d in header["corpus"]["documents"]] == ["halu-00001.txt"]
    assert [row.reference_sources for row in rows] == [("halu-00001.txt",), ("halu-00001.txt",)]


def test_halueval_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "halu.jsonl"
    good = HALUEVAL.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(good + "\n" + json.dumps({"knowledge": "k", "question": "q", "right_answer": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r'halu\.jsonl line 2: not a HaluEval QA row: "hallucinated_answer" is missing'):
        import_halueval(path)


# --------------------------------------------------------------------------- CSV


def test_csv_with_bom_multiline_cells_and_every_column() -> None:
    header, rows = import_csv(DATA / "questions.sample.csv")
    assert "corpus" not in header
    assert header["provenance"]["encoding"] == "utf-8"
    q1, q2, q3 = rows
    assert q1 == EvalRow(
        id="q1",
        user_input="比特币交易客服提供哪些支持?",
        reference=("账户管理", "交易问题"),
        reference_contexts=("比特币交易客服负责账户管理、交易问题和安全咨询。",),
        reference_sources=("faq.txt",),
        language="zh",
    )
    assert q2.reference_contexts == ("Withdrawals take one day.\nFees are shown before you confirm.",)
    assert q2.extras == {"x_note": "checked by hand"} and q2.language == "en"
    assert q3.id == "row-5"  # the line it starts on: q2 spans lines 3 and 4
    assert not q3.answerable and q3.reference == ()


def test_gbk_csv_from_chinese_excel() -> None:
    header, rows = import_csv(DATA / "questions.gbk.csv")
    assert header["provenance"]["encoding"] == "gb18030"
    assert [(r.id, r.user_input, r.reference, r.answerable) for r in rows] == [
        ("row-2", "提现需要多长时间？", ("一个工作日", "1个工作日"), True),
        ("row-3", "客服在哪里办公？", (), False),
    ]


def test_csv_other_delimiter_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "q.tsv"
    path.write_text(" User_Input \tReference\tANSWERABLE\nWhere?\there||there\t0\n", encoding="utf-8")
    with pytest.raises(DatasetError, match='line 2: "answerable" is false but "reference" is not empty'):
        import_csv(path, delimiter="\t")
    path.write_text("user_input\treference\tX_Reviewer\nWhere?\there || there\tLi\n", encoding="utf-8")
    row = import_csv(path, delimiter="\t")[1][0]
    assert row.reference == ("here", "there")
    assert row.extras == {"x_Reviewer": "Li"}
    with pytest.raises(DatasetError, match="one character"):
        import_csv(path, delimiter="||")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"question,answr,notes\nq,a,n\n", r"line 1: unknown column\(s\) 'answr', 'notes'; the columns are: question \(or user_input\)"),
        (b"answer,context\na,c\n", r'line 1: no "question" \(or "user_input"\) column'),
        (b"question,user_input\nq,r\n", r'line 1: column "question" appears twice'),
        (b"question,answerable\nq1,true\nq2,maybe\n", r'line 3: "answerable" must be true/false/yes/no/1/0, got "maybe"'),
        (b"question,answer\nq1,a\n,b\n", r'line 3: "question" is empty'),
        (b"id,question\nx,q1\nx,q2\n", r'line 3: duplicate id "x" \(first on line 2\)'),
        (b"question,answer\nq1,a,extra\n", "line 2: 3 fields but the header has 2 columns"),
        (b'question\n"q1\n', "line 2: malformed CSV"),
        (b"", "the file is empty"),
        (b"question,answer\n\n", "a header row but no questions"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not a CSV text file"),
        (b"question\n\xff\xfe\xff\n", "line 2: neither UTF-8 nor GB18030 text"),
    ],
)
def test_csv_errors_name_the_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as info:
        import_csv(path)
    assert str(info.value).startswith(str(path))


def test_missing_source_file(tmp_path: Path) -> None:
    for importer in (import_squad, import_halueval, import_csv):
        with pytest.raises(DatasetError, match="nope: no such file"):
            importer(tmp_path / "nope")
