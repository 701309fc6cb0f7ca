"""Which language a text is in (rag/text/language.py), as far as answering needs: the script of a
letter, zh/en/other, and the abstention message in the question's language."""

from __future__ import annotations

import pytest

from rag.text.language import ABSTAIN_MESSAGES, abstain_message, detect_language, script_of


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("提现需要多久?", "zh"),
        ("How long does a withdrawal take?", "en"),
        ("Café naïve", "en"),  # Latin letters beyond ASCII
        ("Binance是哪一年成立的?", "zh"),  # mixed: Han is 7 of 14 letters
        ("Coinbase Binance Kraken 交易", "en"),  # mixed: Han is 2 of 23 letters (< a fifth)
        ("Что это такое?", "other"),
        ("안녕하세요", "other"),
        ("", "other"),
        ("123 !? 。", "other"),  # no letters at all
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_chinese_from_a_fifth_of_the_letters() -> None:
    assert detect_language("abcdefghijklmnop 提现需要") == "zh"  # 4 of 20: exactly a fifth
    assert detect_language("abcdefghijklmnopq 提现需要") == "en"  # 4 of 21
    assert detect_language("提 " + "a" * 4) == "zh"  # 1 of 5
    assert detect_language("提 " + "a" * 5) == "en"  # 1 of 6


def test_english_from_half_the_letters_in_latin_script() -> None:
    assert detect_language("ab Яж") == "en"  # 2 of 4
    assert detect_language("ab Яжз") == "other"  # 2 of 5
    assert detect_language("Caf Что это") == "other"


@pytest.mark.parametrize(
    ("ch", "script"),
    [
        ("提", "han"),
        ("𠀀", "han"),  # CJK extension B
        ("a", "latin"),
        ("Z", "latin"),
        ("é", "latin"),
        ("Я", "cyrillic"),
        ("あ", "hiragana"),
        ("한", "hangul"),
        ("α", "greek"),
        ("1", "digit"),
        ("\u0378", "unknown"),  # unassigned: no Unicode name
    ],
)
def test_script_of(ch: str, script: str) -> None:
    assert script_of(ch) == script


def test_abstain_message_in_the_questions_language() -> None:
    assert abstain_message("zh") == "文档中没有找到这个问题的答案。"
    assert abstain_message("en") == "The documents do not answer this question."
    assert abstain_message("other") == ABSTAIN_MESSAGES["en"]  # anything else: English
    assert abstain_message("fr") == ABSTAIN_MESSAGES["en"]
    assert abstain_message(detect_language("提现需要多久?")) == ABSTAIN_MESSAGES["zh"]
    assert set(ABSTAIN_MESSAGES) == {"zh", "en"}
