"""Keyword tokens (rag/text/tokenize.py): rjieba words for Chinese, lower-cased word runs for other
scripts, run by run; and the BM25 terms built from them."""

from __future__ import annotations

import pytest

from rag.text.tokenize import ENGLISH_STOPWORDS, bm25_tokens, keyword_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("提现需要多久?", ["提现", "需要", "多久"]),  # rjieba's words, punctuation dropped
        ("发源地在哪里", ["发源地", "在", "哪里"]),
        ("How do I Withdraw Bitcoin?", ["how", "do", "i", "withdraw", "bitcoin"]),  # lower-cased, function words kept
        ("Coinbase是哪一年成立的?", ["coinbase", "是", "哪一年", "成立", "的"]),  # mixed text, run by run, in text order
        ("提现 limit 提现", ["提现", "limit", "提现"]),  # repeats kept
        ("Café naïve ÉTÉ", ["café", "naïve", "été"]),  # letters beyond ASCII
        ("ABC_def x2 3.5", ["abc", "def", "x2", "3", "5"]),  # '_' and '.' separate runs; digits are words
        ("", []),
        ("  ,.!?。，  ", []),
    ],
)
def test_keyword_tokens(text: str, tokens: list[str]) -> None:
    assert keyword_tokens(text) == tokens


def test_bm25_tokens_add_the_bigrams_of_each_chinese_run_after_its_words() -> None:
    assert bm25_tokens("提现需要多久") == ["提现", "需要", "多久", "提现", "现需", "需要", "要多", "多久"]
    # 发源地 in a question meets 发源 in a passage that rjieba cut differently
    assert "发源" in bm25_tokens("发源地在哪里") and "发源" not in keyword_tokens("发源地在哪里")
    # a one-character run has no bigram; runs are not joined across a space or another script
    assert bm25_tokens("币 BTC 价格") == ["币", "btc", "价格", "价格"]
    assert "格提" not in bm25_tokens("价格 提现")


def test_bm25_tokens_drop_english_function_words_only() -> None:
    assert bm25_tokens("How do I Withdraw Bitcoin?") == ["withdraw", "bitcoin"]
    assert bm25_tokens("the a of") == []
    assert bm25_tokens("The limit of THE exchange") == ["limit", "exchange"]  # case-insensitive: matched after lower-casing
    assert {"the", "what", "is", "how"} <= ENGLISH_STOPWORDS and "bitcoin" not in ENGLISH_STOPWORDS


@pytest.mark.parametrize(
    "text",
    ["提现需要多久?", "What is the daily withdrawal limit on Coinbase?", "Binance的提现手续费是多少 and why", "比特币交易客服能提供哪些服务?"],
)
def test_every_keyword_token_is_a_bm25_term_unless_a_function_word(text: str) -> None:
    terms = bm25_tokens(text)
    words = keyword_tokens(text)
    assert words
    for word in words:
        assert (word in terms) != (word in ENGLISH_STOPWORDS), word

