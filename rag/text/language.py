"""Which language a text is in, as far as answering needs to know: Chinese, English, other."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["detect_language", "script_of", "ABSTAIN_MESSAGES", "abstain_message"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

ABSTAIN_MESSAGES = {
    "zh": "文档中没有找到这个问题的答案。",
    "en": "The documents do not answer this question.",
}


def script_of(ch: str) -> str:
    """A coarse script name for a letter: 'han', 'latin', or the first word of its Unicode name."""
    if _HAN.match(ch):
        return "han"
    if _LATIN.match(ch):
        return "latin"
    try:
        return unicodedata.name(ch).split()[0].lower()
    except ValueError:
        return "unknown"


def detect_language(text: str) -> str:
    """'zh' when Han characters make up at least a fifth of the letters, 'en' for Latin script, else 'other'."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "other"
    han = sum(1 for ch in letters if _HAN.match(ch))
    if han and han / len(letters) >= 0.2:
        return "zh"
    latin = sum(1 for ch in letters if _LATIN.match(ch))
    return "en" if latin / len(letters) >= 0.5 else "other"


def abstain_message(language: str) -> str:
    return ABSTAIN_MESSAGES.get(language, ABSTAIN_MESSAGES["en"])
