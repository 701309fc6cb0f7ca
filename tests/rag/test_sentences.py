"""Sentences as Chinese and English are written (rag/text/sentences.py): where they end, what does not
end them, and offsets that are exact (``text[span.start:span.end]`` is the sentence)."""

from __future__ import annotations

import pytest

from rag.text.sentences import Span, count_units, is_cjk, split_sentences, trim, unit_weight


def sentences(text: str) -> list[str]:
    spans = split_sentences(text)
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start, "spans are in order and do not overlap"
    return [text[s.start : s.end] for s in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Chinese ends: 。！？ (and the ASCII ?! that Chinese is often typed with)
        ("提现需要一天。大额提现需要三天！为什么？", ["提现需要一天。", "大额提现需要三天！", "为什么？"]),
        ("提现需要多久?大额的呢?", ["提现需要多久?", "大额的呢?"]),
        ("全角句号．下一句", ["全角句号．", "下一句"]),
        # English ends: . ! ? … and runs of them
        ("Withdrawals take one day. Large ones take three! Why? Really…", ["Withdrawals take one day.", "Large ones take three!", "Why?", "Really…"]),
        ("What?! No way.", ["What?!", "No way."]),
        ("Wait... what is it? Fine.", ["Wait...", "what is it?", "Fine."]),
        # closing quotes and brackets stay with their sentence
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("他说：“好的。”然后走了。", ["他说：“好的。”", "然后走了。"]),
        ("（注意：费用会变。）下一句。", ["（注意：费用会变。）", "下一句。"]),
        # a '.' closes a sentence before a CJK character, and Chinese typed with an ASCII '.'
        ("Ends with CJK.比特币", ["Ends with CJK.", "比特币"]),
        ("比特币很贵.但是很多人买.", ["比特币很贵.", "但是很多人买."]),
        # mixed Chinese and English
        ("Bitcoin是一种加密货币。It is popular. 很多人使用它！", ["Bitcoin是一种加密货币。", "It is popular.", "很多人使用它！"]),
        # the last sentence needs no end mark
        ("价格是1.5元。好的", ["价格是1.5元。", "好的"]),
    ],
)
def test_sentence_ends(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The fee is 3.5 percent. See example.com for details.", ["The fee is 3.5 percent.", "See example.com for details."]),  # decimals, domains
        ("Done.Next", ["Done.Next"]),  # a '.' followed by a letter ends nothing
        ("Use e.g. a wallet. Then stop.", ["Use e.g. a wallet.", "Then stop."]),  # abbreviations
        ("Dr. Smith is here. Mr. Lee too.", ["Dr. Smith is here.", "Mr. Lee too."]),
        ("The U.S. economy grows. Ok.", ["The U.S. economy grows.", "Ok."]),
        ("See Fig. 3 for details. Done.", ["See Fig. 3 for details.", "Done."]),
        ("J. Smith wrote it. He left.", ["J. Smith wrote it.", "He left."]),  # an initial
        # list and heading numbers at the start of a line: "1.", "2.3.", "a.", "iv."
        ("1. First item.\n2. Second item.", ["1. First item.", "2. Second item."]),
        ("2.3. Limits apply.\niv. Fees apply.\na. Rules apply.", ["2.3. Limits apply.", "iv. Fees apply.", "a. Rules apply."]),
        # ...but a number ending a sentence mid-line, or closing a line, does end it
        ("Version 2. Next", ["Version 2.", "Next"]),
        ("Price was 3.\nNext", ["Price was 3.", "Next"]),
    ],
)
def test_what_a_period_does_not_end(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_line_breaks_end_sentences_except_english_soft_wraps() -> None:
    assert sentences("第一行\n第二行") == ["第一行", "第二行"]
    assert sentences("比特币。\n\n以太坊。") == ["比特币。", "以太坊。"]
    assert sentences("Costs rose.\nNext line.") == ["Costs rose.", "Next line."]
    assert sentences("1. Open the app\n\n2. Tap withdraw") == ["1. Open the app", "2. Tap withdraw"]  # a blank line ends it
    # an English hard wrap (a word, then a lower-case word or a number) continues the sentence
    assert sentences("This is an English\nwrapped line. Next.") == ["This is an English\nwrapped line.", "Next."]
    assert sentences("Costs rose by\n300 dollars. Next.") == ["Costs rose by\n300 dollars.", "Next."]
    assert sentences("A title\nStarts here.") == ["A title", "Starts here."]  # capitalised: a new line, not a wrap


def test_offsets_are_exact_and_whitespace_is_trimmed() -> None:
    text = "  Leading spaces.   Trailing.  \n\n  提现需要一天。 "
    spans = split_sentences(text)
    assert spans == [Span(2, 17), Span(20, 29), Span(35, 42)]
    assert [text[s.start : s.end] for s in spans] == ["Leading spaces.", "Trailing.", "提现需要一天。"]


def test_a_range_of_the_text_gives_offsets_into_the_whole_text() -> None:
    text = "xx Hello there. Bye. yy"
    spans = split_sentences(text, 3, 20)
    assert spans == [Span(3, 15), Span(16, 20)]
    assert [text[s.start : s.end] for s in spans] == ["Hello there.", "Bye."]
    assert split_sentences(text, 5, 5) == []


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t"])
def test_no_text_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_every_sentence_is_a_slice_of_the_text_and_nothing_but_space_is_lost() -> None:
    text = "客服团队解答问题。Support teams answer questions!\n1. First step.\n2. Second step. 提现需要多久? 3.5% fee…"
    spans = split_sentences(text)
    pieces = []
    pos = 0
    for s in spans:
        assert text[pos : s.start].strip() == ""  # between sentences: only whitespace
        assert text[s.start] == text[s.start].strip() and text[s.end - 1] == text[s.end - 1].strip()
        pieces.append(text[s.start : s.end])
        pos = s.end
    assert text[pos:].strip() == ""
    assert pieces == [
        "客服团队解答问题。",
        "Support teams answer questions!",
        "1. First step.",
        "2. Second step.",
        "提现需要多久?",
        "3.5% fee…",
    ]


def test_trim() -> None:
    assert trim("  ab  ", 0, 6) == Span(2, 4)
    assert trim("  ab  ", 3, 6) == Span(3, 4)
    assert trim("   ", 0, 3) is None
    assert trim("abc", 1, 1) is None


def test_units_track_model_tokens_in_both_scripts() -> None:
    assert unit_weight("提") == 1
    assert unit_weight("abcdef") == 1  # a short word
    assert unit_weight("abcdefg") == 2  # one more per 7 letters
    assert unit_weight("abcdefghijklmn") == 3
    assert count_units("提现需要") == 4  # one per CJK character
    assert count_units("withdrawal limits") == 2 + 1  # "withdrawal" is 10 letters: 2 units
    assert count_units("提现 withdrawal, 3.5!") == 2 + 2 + 2  # punctuation and spaces count nothing; 3 and 5 are words
    assert count_units("  ,.!? ") == 0


@pytest.mark.parametrize(("ch", "cjk"), [("提", True), ("あ", True), ("カ", True), ("한", True), ("𠀀", True), ("a", False), ("1", False), ("。", False), (" ", False)])
def test_is_cjk(ch: str, cjk: bool) -> None:
    assert is_cjk(ch) is cjk
