"""What kind of answer a question asks for, and whether a text has one.

"person" (who founded/wrote/invented...), "year", "duration" or "number": the abstention
policy's ``type_missing`` feature is 1 when the question asks for one of them and the chosen
sentences hold none.
"""

from __future__ import annotations

import re

from rag.text.terms import EN_STOP

__all__ = ["expected_answer_type", "has_answer_type"]

_EN_NUMBER = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozens?|half|several|a few"
)
_NUMBER_RE = re.compile(rf"\d|[零一二三四五六七八九十百千万亿两半]+[个位年月日天次种%]|percent|百分|\b({_EN_NUMBER})\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(1[5-9]|20)\d\d\b|\d{2,4}\s*年|公元")
_DURATION_RE = re.compile(
    r"(\d+|[一二三四五六七八九十两半几]+)\s*个?(工作|自然|营业)?(秒|分钟|小时|天|日|周|星期|月|年|seconds?|minutes?|hours?|days?|weeks?|months?|years?)"
    rf"|\b(\d+|an?|{_EN_NUMBER})\s+(\w+\s+)?(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b|\b(instantly|immediately|same day|overnight)\b",
    re.IGNORECASE,
)

_PERSON_EN = re.compile(r"\b([A-Z][a-z]+)(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+\b")
_PERSON_ZH_TAGS = frozenset({"nr", "nrfg"})

_EXPECTS = (
    (
        "person",
        re.compile(
            r"\bwho (founded|created|invented|wrote|discovered|designed|built|established|started|owns|directed|composed|painted)\b|"
            r"谁(创立|创办|创建|发明|写|设计|建立|拥有)|(创始人|创办人|发明者|作者)是谁",
            re.IGNORECASE,
        ),
    ),
    ("year", re.compile(r"哪一年|哪年|何年|什么时候成立|when was|what year|in which year", re.IGNORECASE)),
    ("duration", re.compile(r"多久|多长时间|多长的时间|how long|how much time", re.IGNORECASE)),
    (
        "number",
        re.compile(
            r"多少|几[个位次种天年岁名家]|多大|多高|多重(?!要)|多远|how many|how much|what (is|are) the ([a-z-]+ ){0,3}"
            r"(limits?|fees?|price|cost|number|amount|rate|percentage|size)\b|总量|上限|下限",
            re.IGNORECASE,
        ),
    ),
)


def expected_answer_type(question: str) -> str | None:
    """'person' (who founded/wrote/invented...), 'year', 'duration' or 'number' when the question
    asks for one, else None."""
    for kind, pattern in _EXPECTS:
        if pattern.search(question):
            return kind
    return None


def _has_person(text: str) -> bool:
    """A person's name: rjieba's person tags in Chinese, two capitalised words in a row otherwise."""
    if any(m.group(1).lower() not in EN_STOP for m in _PERSON_EN.finditer(text)):
        return True
    if re.search(r"[\u4e00-\u9fff]", text):
        import rjieba

        return any(tag in _PERSON_ZH_TAGS and 2 <= len(word) <= 4 for word, tag in rjieba.tag(text))
    return False


def has_answer_type(text: str, kind: str | None) -> bool:
    if kind is None:
        return True
    if kind == "person":
        return _has_person(text)
    if kind == "year":
        return bool(_YEAR_RE.search(text))
    if kind == "duration":
        return bool(_DURATION_RE.search(text))
    return bool(_NUMBER_RE.search(text))
