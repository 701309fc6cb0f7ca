"""Claims, not sentences: which sentences of an answer say something that can be checked.

A model's reply carries text that makes no claim about the documents: a sentence announcing
the answer ("Here is a concise summary of the passage:", "以下是要点："), a closing courtesy
("I hope this helps."), a question, a heading. Judged as claims they always fail, so the
checker skips them and says so (:class:`~rag.domain.SkippedText`). A lead that only says where
the claim comes from ("根据文档，", "According to the passage, ", "The passage states that")
is framing: the sentence is judged without it. A statement that carries its own question
("Who acquired Instagram: Facebook.", or "Who acquired Instagram?" followed by "Facebook.")
keeps that question in :attr:`~rag.domain.Statement.asks`, so its words are discounted as a
question's would be.

The rules are patterns over the words that do this work in English and Chinese; they are
deliberately narrow (a lead is framing only when it names the passage, document, text or
context, not "According to the UN"), because a skipped sentence is not checked: in the
answer path it is not shown, in an evaluation it is not scored.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import NamedTuple

from rag.checking.statements import split_statements
from rag.domain import SkippedText, Statement

__all__ = ["Claims", "extract_claims"]


class Claims(NamedTuple):
    """The statements to judge, and what was skipped (in answer order)."""

    statements: list[Statement]
    skipped: list[SkippedText]


_SOURCE_EN = (
    r"(?:(?:the|this|these|those|that|your|my|our)\s+)?(?:(?:provided|given|above|following|retrieved|cited|attached|available|supplied|quoted|original|source)\s+)?"
    r"(?:passages?|documents?|documentation|docs|texts?|articles?|context|sources?|excerpts?|materials?|information|faq|paragraphs?|reference(?:s)?|content|snippets?|summary)"
    r"(?![\w-])(?:\s+(?:provided|given|above|below|supplied)\b)?(?:\s*\[\d{1,3}\])*"
)
_SOURCE_ZH = (
    r"(?:所?(?:提供|给出|给定|检索到|引用)的?)?(?:上述|以上|上面|这些|这篇|该|本|此|所给)?(?:的)?"
    r"(?:文档|文件|文章|资料|材料|段落|内容|信息|上下文|原文|文本|来源|参考资料|常见问题|FAQ|摘录|片段|说明)"
    r"(?:\s*\[\d{1,3}\])*"
)

_SAY_EN = r"(?:states?|says?|said|mentions?|mentioned|notes?|noted|explains?|explained|indicates?|indicated|shows?|showed|suggests?|reports?|reported|tells?(?:\s+us)?|informs?\s+us|highlights?|points?\s+out|clarifies|specifies|confirms?|reads?)"

# Leads that only frame what follows; each must be followed by the claim itself.
_FRAMING = re.compile(
    "|".join(
        [
            # According to the passage, / Based on the provided documents, / As stated in the text,
            rf"(?:according\s+to|based\s+(?:on|upon)|as\s+(?:stated|described|mentioned|noted|explained|shown|indicated|given|per)\s+(?:in|by)|as\s+per|per|from|in|going\s+by)\s+{_SOURCE_EN}\s*(?:[,;—–]|[:：](?!\d))\s*",
            # The passage states that / The document says: / The text mentions,
            rf"{_SOURCE_EN}\s+{_SAY_EN}(?:\s+that\b|\s*,|\s*[:：](?!\d))\s*",
            r"(?:the|this)\s+(?:passage|document|text|article|context|excerpt|source)s?\s+(?:states?|says?)\s+",
            # In summary, / To sum up, / Overall, / In short:
            r"(?:in\s+(?:summary|short|brief|conclusion|sum|a\s+nutshell|other\s+words)|to\s+(?:summarize|summarise|sum\s+up|conclude)|overall|briefly|simply\s+put|in\s+essence|all\s+in\s+all)\s*[,:—–]\s*",
            # Sure, / Certainly! / Of course.  (not "Yes," or "No,": those answer a question)
            r"(?:sure|certainly|of\s+course|absolutely|okay|ok|great\s+question)\s*[,!.:]\s*",
            # 根据文档， / 根据所提供的资料中的信息， / 据文章所述， / 从上下文来看，
            rf"(?:根据|依据|按照|依照|据|基于|从|参考|结合){_SOURCE_ZH}(?:中的?(?:信息|内容|描述|说明|介绍|记载)?)?(?:所述|所示|所说|所言|的?(?:信息|内容|描述|说明|介绍|记载))?(?:来看|可知|可以看出|可以知道|显示|中|里)?\s*[，,：:]\s*",
            # 文档中提到， / 文章指出： / 原文写道
            rf"{_SOURCE_ZH}(?:中|里)?(?:提到|指出|表示|说明|显示|写道|称|介绍|明确|强调|记载)(?:了|的是|说)?\s*[，,：:]\s*",
            # 总之， / 综上所述， / 简而言之：
            r"(?:总之|总而言之|总的来说|总的说来|综上所述|综上|简而言之|简单来说|简单地说|概括来说|概括地说|概括而言|总结来说|总结一下|总体来说|总体而言|好的|当然)\s*[，,：:！!。]\s*",
        ]
    ),
    re.IGNORECASE,
)

# Presentational leads ending at a colon: "Here is a concise summary of the passage:", "以下是要点：".
_PRESENT = re.compile(
    r"(?:(?:sure|certainly|okay|ok|of\s+course)[,!.]?\s*)?(?:here\s+(?:is|are|'s|’s)|below\s+(?:is|are)|the\s+following\s+(?:is|are))\b[^:：\n\d]{0,160}[:：](?!\d)\s*"
    r"|(?:以下|下面|下列|如下)(?:是|为|列出)?[^：:。\n\d]{0,60}[：:](?!\d)\s*"
    r"|[^：:。\n\d]{0,40}(?:如下|以下几点|以下几个方面)[：:](?!\d)\s*",
    re.IGNORECASE,
)

# Words that only talk about the answer itself: a lead before a colon made only of them is a label
# ("Summary:", "Key points:", "Answer:", "摘要：").
_META_WORDS_EN = frozenset(
    """here is are the a an of this that these following below above summary summaries summarised summarized concise brief short
    key main important points point facts fact answer answers passage passages document documents text article context information
    overview highlights takeaways details detail findings conclusion response reply result results short version based on provided given
    according to in to some notes note list quick simple simply put final my our your it its""".split()
)
_META_WORDS_ZH = "以下下面如下是为的了摘要总结概括要点重点关键主要内容信息答案回答文章文档段落简要简短简单几点几个方面结论说明概述"

# Whole sentences that close or open a reply without a claim.
_COURTESY = re.compile(
    r"(?:i\s+hope\s+(?:this|that|it)\s+helps|hope\s+(?:this|that|it)\s+helps|let\s+me\s+know\b|feel\s+free\s+to\b|is\s+there\s+anything\s+else\b"
    r"|if\s+you\s+have\s+(?:any\s+)?(?:other|more|further|additional)\s+questions|please\s+let\s+me\s+know|i\s+(?:can|could)\s+(?:also\s+)?help\b"
    r"|(?:i\s+)?(?:am\s+)?happy\s+to\s+help|glad\s+to\s+help)"
    r"|希望(?:这|以上|这些|我的回答|本回答)?(?:对您|对你)?(?:有所)?(?:有)?帮助|如(?:果)?(?:您|你)?(?:还)?有(?:任何)?(?:其他|其它|更多)?(?:的)?问题|欢迎(?:随时)?(?:继续)?(?:提问|咨询)",
    re.IGNORECASE,
)

_QUESTION_WORD = re.compile(
    r"^\s*(?:who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did|can|could|will|would|should|has|have|had)\b"
    r"|谁|什么|哪(?:个|些|里|儿|一|种|年|位|家)|多少|几(?:个|年|月|天|种|次|岁|点|位|家|号)|何时|何地|为何|为什么|怎么|怎样|如何",
    re.IGNORECASE,
)
_QA_SPLIT = re.compile(r"[:：](?!\d)\s*")
_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_EMPHASIS_LINE = re.compile(r"^\s*(?:\*\*|__)[^*_\n]+(?:\*\*|__)\s*[:：]?\s*$")
_SECTION_ZH = re.compile(r"^\s*第[一二三四五六七八九十百\d]+(?:章|节|部分|篇)(?:\s*[^\s\d，。,.;；:：！？!?]{1,15})?\s*$")
_WORD = re.compile(r"[^\W\d_]+")
_HAS_WORD = re.compile(r"\w")


def _only_meta(lead: str) -> bool:
    """Whether a lead ending at a colon is only a label about the answer ("Key points:", "摘要：")."""
    words = [w.lower() for w in _WORD.findall(lead) if w.isascii()]
    chinese = [c for c in lead if "\u4e00" <= c <= "\u9fff"]
    if not words and not chinese:
        return False
    return all(w in _META_WORDS_EN for w in words) and all(c in _META_WORDS_ZH for c in chinese)


def _heading(answer: str, statement: Statement) -> bool:
    """A line that is a heading: Markdown ``#``, a line all in bold, "第一章 概述". A short line
    without punctuation is not taken for one: it may be the answer ("Paris")."""
    line_start = answer.rfind("\n", 0, statement.start) + 1
    line_end = answer.find("\n", statement.end)
    line = answer[line_start : len(answer) if line_end < 0 else line_end]
    if line.strip() != answer[statement.start : statement.end].strip():
        return False  # the sentence is not a whole line
    text = line.strip()
    return bool(_ATX_HEADING.match(text) or _EMPHASIS_LINE.match(text) or _SECTION_ZH.match(text))


def _framing(text: str) -> int:
    """How many leading characters of ``text`` only frame the claim (0 for none); leads repeat
    ("Sure! According to the passage, ...")."""
    lead = 0
    while True:
        match = _FRAMING.match(text, lead) or _PRESENT.match(text, lead)
        if match is None or match.end() == lead:
            break
        lead = match.end()
    colon = re.match(r"([^:：\n\d]{1,60})[:：](?!\d)\s*", text[lead:])
    if colon and _only_meta(colon.group(1)):
        lead += colon.end()
    return lead


def _asks(text: str) -> str:
    """The question a "question: answer" statement carries ("Who acquired Instagram: Facebook.")."""
    parts = _QA_SPLIT.split(text, maxsplit=1)
    if len(parts) == 2 and parts[1].strip() and len(parts[0]) <= 200:
        asked = parts[0]
        english = _QUESTION_WORD.match(asked) is not None and asked.isascii()
        chinese = not asked.isascii() and _QUESTION_WORD.search(asked) is not None
        if english or chinese:
            return asked.strip()
    return ""


def extract_claims(answer: str) -> Claims:
    """The answer's claims (statements to judge) and what it skipped, in order.

    Sentences come from :func:`~rag.checking.statements.split_statements` (citation markers kept
    as each statement's markers). A sentence is skipped as a ``heading``, a ``question`` (which
    then becomes the question of the next statement), or ``meta`` (nothing but a presentational
    lead, a label or a courtesy); a framing lead is skipped as ``framing`` and the rest judged.
    """
    statements: list[Statement] = []
    skipped: list[SkippedText] = []
    pending_question = ""
    for statement in split_statements(answer):
        text = statement.text
        if _heading(answer, statement):
            skipped.append(SkippedText(text, statement.start, statement.end, "heading"))
            continue
        if text.rstrip().endswith(("?", "？")):
            skipped.append(SkippedText(text, statement.start, statement.end, "question"))
            pending_question = text
            continue
        lead = _framing(text)
        rest = text[lead:]
        if _COURTESY.match(rest.strip()) or not _HAS_WORD.search(rest):
            skipped.append(SkippedText(text, statement.start, statement.end, "meta"))
            pending_question = ""
            continue
        if lead:
            framing = text[:lead].strip()
            at = max(answer.find(framing, statement.start, statement.end), statement.start)
            skipped.append(SkippedText(framing, at, at + len(framing), "framing"))
        asks = _asks(rest) or pending_question
        pending_question = ""
        statements.append(replace(statement, lead=lead, asks=asks))
    return Claims(statements, skipped)
