"""Content terms: what a question or statement is about."""

from __future__ import annotations

import os
import subprocess
import sys

from rag.text.terms import contains_term, content_terms


def test_function_words_peel_off_the_same_way_in_every_process() -> None:
    # "是因为" can lose 是 or 为 first; the order must not depend on set iteration (PYTHONHASHSEED).
    code = "from rag.text.terms import content_terms; print(content_terms('中医医师反对西医是因为体液学说'))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}
        ).stdout
        for seed in range(6)
    }
    assert len(outputs) == 1, outputs
    assert content_terms("中医医师反对西医是因为体液学说") == eval(outputs.pop())  # noqa: S307 - our own repr


def test_contains_term_by_script() -> None:
    assert contains_term("币安于2017年成立", "2017")  # a number inside Chinese text
    assert contains_term("萨克森花园（波兰语：Ogród Saski）", "ogród")  # case-insensitive beyond ASCII
    assert contains_term("Withdrawals take a day", "withdrawal")  # from a word start
    assert not contains_term("rewithdrawal", "withdrawal")
    assert contains_term("提现需要一天", "提现")
