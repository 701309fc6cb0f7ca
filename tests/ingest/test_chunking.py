from __future__ import annotations

import random

import pytest

from ingest.chunking import SentenceChunker, count_units, split_sentences
from rag.domain import Document


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def doc(text: str, **kw: object) -> Document:
    return Document(path="/x.txt", text=text, content_hash="h", kind="text", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好。今天天气很好！你呢？", ["你好。", "今天天气很好！", "你呢？"]),
        # Chinese written with ASCII punctuation, as in the sample corpus.
        ("什么是客服?客服是团队,负责解答问题.然后结束", ["什么是客服?", "客服是团队,负责解答问题.", "然后结束"]),
        ("He paid $3.50 for it. Then he left! Did he?", ["He paid $3.50 for it.", "Then he left!", "Did he?"]),
        ("See e.g. the manual by Dr. Smith. It helps.", ["See e.g. the manual by Dr. Smith.", "It helps."]),
        ("Visit example.com today. J. Smith agrees.", ["Visit example.com today.", "J. Smith agrees."]),
        ("他说：“我们走吧。”然后走了。", ["他说：“我们走吧。”", "然后走了。"]),
        ("Wait... what?! Yes.", ["Wait...", "what?!", "Yes."]),
        ("It happened in 2019. Then it stopped.", ["It happened in 2019.", "Then it stopped."]),
        ("1. 什么是比特币交易客服?\n比特币交易客服是团队。", ["1. 什么是比特币交易客服?", "比特币交易客服是团队。"]),
        ("2.3. Setup steps\nInstall it.", ["2.3. Setup steps", "Install it."]),
        # An English hard wrap continues the sentence; a Chinese line break ends one.
        ("This sentence is wrapped\nacross two lines. Next.", ["This sentence is wrapped\nacross two lines.", "Next."]),
        ("标题没有标点\n正文在这里。", ["标题没有标点", "正文在这里。"]),
        ("混合 mixed text：Coinbase、Binance 等平台提供24/7服务。OK.", ["混合 mixed text：Coinbase、Binance 等平台提供24/7服务。", "OK."]),
    ],
)
def test_sentence_ends_in_chinese_and_english(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_numbered_list_marker_is_not_a_sentence_end() -> None:
    assert sentences("1. 首先准备材料\n2. 然后提交申请") == ["1. 首先准备材料", "2. 然后提交申请"]


def test_units_count_cjk_characters_and_words() -> None:
    assert count_units("比特币") == 3
    assert count_units("The cat sat on a mat") == 6
    assert count_units("Bitcoin is a currency") == 2 + 1 + 1 + 2
    assert count_units("internationalisation") == 1 + 20 // 7  # long words are several subword tokens
    assert count_units("比特币 exchange 客服, 24/7!") == 3 + 2 + 2 + 2


def test_a_word_longer_than_a_chunk_is_sliced() -> None:
    token = "A" * 500
    text = f"Hash: {token} end."
    chunks = SentenceChunker(chunk_size=20, chunk_overlap=0).split(doc(text))
    assert "".join(c.text for c in chunks).replace("Hash:", "").replace("end.", "").replace(" ", "") == token
    assert all(count_units(c.text) <= 20 for c in chunks)


def test_sample_corpus_keeps_each_faq_heading_with_its_answer(sample_text: str) -> None:
    chunks = SentenceChunker().split(doc(sample_text))
    # Ten FAQ entries: five numbered (one heading without end punctuation), five question lines.
    assert len(chunks) == 10
    headings = [c.heading for c in chunks]
    assert headings[0] == "1. 什么是比特币交易客服?"
    assert headings[3] == "4. 比特币交易客服的响应速度与服务质量的关系"  # no end punctuation
    assert headings[6] == "如何评估比特币交易客服的专业水平?"
    for chunk in chunks:
        assert chunk.text == sample_text[chunk.start : chunk.end]
        first_line, _, body = chunk.text.partition("\n")
        assert first_line in chunk.heading
        assert count_units(body) > count_units(first_line), "every heading stays with the answer below it"
    # The unnumbered FAQ block's title joins the first question under it.
    assert headings[5] == "常见问题解答 / 比特币交易客服的工作时间是什么样的?"


def test_long_sections_split_with_overlap_and_keep_heading() -> None:
    body = "".join(f"这是第{i}个句子,它描述了一个细节。" for i in range(60))
    text = "# 标题\n" + body
    chunks = SentenceChunker(chunk_size=80, chunk_overlap=20).split(doc(text))
    assert len(chunks) > 5
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "consecutive chunks of a section overlap"
        assert b.start > a.start
    for c in chunks:
        assert c.heading == "标题"
        assert count_units(c.text) <= 80
        assert c.embed_text.startswith("标题")


def test_sentence_longer_than_a_chunk_is_cut_at_clauses() -> None:
    clause = "用户应该准备详细的问题描述"
    text = "，".join([clause] * 40) + "。"
    chunks = SentenceChunker(chunk_size=50, chunk_overlap=0).split(doc(text))
    assert len(chunks) > 5
    for c in chunks:
        assert count_units(c.text) <= 50
        assert c.text == text[c.start : c.end]
    assert all(c.text.endswith("，") or c.text.endswith("。") for c in chunks), "cuts fall after clause punctuation"


def test_chunks_never_cross_record_breaks() -> None:
    a, b = "第一条记录。内容很短。", "Second record. Also short."
    text = a + "\n\n" + b
    chunks = SentenceChunker().split(doc(text, breaks=(len(a) + 2,)))
    assert [c.text for c in chunks] == [a, b]


def test_pdf_chunks_record_their_page() -> None:
    text = "Page one text. More.\n\nPage two text."
    chunks = SentenceChunker(chunk_size=3, chunk_overlap=0).split(doc(text, pages=((0, 1), (22, 2))))
    assert [(c.text, c.page) for c in chunks] == [("Page one text.", 1), ("More.", 1), ("Page two text.", 2)]


def test_invalid_settings_fail_in_constructor() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        SentenceChunker(chunk_size=10, chunk_overlap=10)
    with pytest.raises(ValueError, match="chunk_size"):
        SentenceChunker(chunk_size=0)


@pytest.mark.parametrize("seed", range(60))
def test_random_texts_offsets_sizes_and_coverage(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["比特币", "交易", "客服", "hello", "world", "3.5", "e.g.", "。", "，", ".", "?", "!", ",", " ", "\n", "\n\n", "1. ", "# ", "；", "internationalisation", "x" * 90]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 600)))
    size = rng.randint(5, 60)
    chunker = SentenceChunker(chunk_size=size, chunk_overlap=rng.randint(0, size - 1))
    chunks = chunker.split(doc(text))
    covered = set()
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert c.text == c.text.strip()
        assert count_units(c.text) <= size
        covered.update(range(c.start, c.end))
    uncovered = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered]
    assert uncovered == [], "every non-space character belongs to some chunk"
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids))
