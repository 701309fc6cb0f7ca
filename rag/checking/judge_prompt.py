"""The LLM judge's prompt and the reading of its reply.

The call itself is made by ``rag.langchain_adapters.ChatModelJudge`` (the
:class:`rag.checking.Judge` protocol, beside the offline ``LexicalJudge``); this module
holds only what it sends and how it reads the answer, so that it needs no chat model to test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["JUDGE_INSTRUCTIONS", "judge_messages", "parse_judgement"]

JUDGE_INSTRUCTIONS = (
    "You check whether a statement is supported by passages. A statement is SUPPORTED only if "
    "every fact in it is stated in the passages; otherwise it is UNSUPPORTED. Reply with one word, "
    "SUPPORTED or UNSUPPORTED, then a short reason on the same line."
)


def judge_messages(statement: str, passages: Sequence[str], question: str | None = None) -> list[tuple[str, str]]:
    """(role, content) pairs asking a chat model for one statement's verdict."""
    numbered = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(passages, start=1))
    asked = f"Question it answers: {question}\n" if question else ""
    return [("system", JUDGE_INSTRUCTIONS), ("user", f"Passages:\n\n{numbered}\n\n{asked}Statement: {statement}")]


def parse_judgement(reply: str) -> tuple[bool | None, str]:
    """(supported, reason) from the judge's reply; ``None`` when it says neither word."""
    text = reply.strip()
    upper = text.upper()
    if re.search(r"\b(UNSUPPORTED|NOT SUPPORTED|不支持|无法支持)\b", upper) or upper.startswith(("NO", "UNSUPPORTED")):
        supported: bool | None = False
    elif re.search(r"\bSUPPORTED\b|支持", upper) or upper.startswith("YES"):
        supported = True
    else:
        supported = None
    reason = re.sub(r"^\W*(UN)?SUPPORTED\W*", "", text, flags=re.IGNORECASE).strip().splitlines()
    return supported, (reason[0] if reason else "")
