"""Content terms: the words of a text that say what it is about, in Chinese and English.

Function words and question words are dropped (they say what is asked, not what it is about),
and Chinese tokens lose function words stuck to their ends (rjieba keeps "哪些方面" whole).
Used by the extractive generator (which question terms does a sentence cover?) and by the
faithfulness checker (which statement terms does a passage hold?).
"""

from __future__ import annotations

import re

from rag.text.sentences import clauses
from rag.text.tokenize import keyword_tokens

__all__ = ["EN_STOP", "WORD_KEY", "ZH_STOP", "candidate_words", "contains_term", "content_terms", "names", "question_terms", "word_inputs"]

# Word vectors are stored beside sentence vectors, under the word with this prefix, so a sentence
# and a word share a key only if a clause is exactly NUL "word" NUL and the word (crafted text; it
# would only give that word another vector).
WORD_KEY = "\x00word\x00"

# Function words and question words: they say what is asked, not what it is about.
ZH_STOP = frozenset(
    """的 了 吗 呢 吧 啊 是 有 在 和 与 及 或 对 为 把 被 从 向 到 给 让 会 能 可以 可能 应该 应 该 需要 要 想 就 都 也 还 又 很 更
    最 多 什么 怎么 怎样 如何 为什么 为何 哪 哪些 哪里 哪儿 哪个 哪种 哪一 哪一年 哪年 多少 几 谁 何时 什么样 是否 有没有 吗 呢 一个
    这 那 这些 那些 其 之 以 等 中 上 下 时 后 前 里 不要 不 别 该 时候 特别 一些 我 我们 你 你们 他 她 它 他们 用户 请问 吧 呀 么 不 没有 没 如果 通过""".split()
)
EN_STOP = frozenset(
    """a an the is are was were be been being am do does did doing have has had having i me my we our you your he she it its
    they them their what which who whom whose when where why how can could should would will shall may might must of in on at
    to for from by with about as into through over under and or but if then than that this these those there here any some
    all each every no not only also very just so such get got there's what's is it's tell please mentioned""".split()
)

_ZH_STOP_AFFIXES = sorted(ZH_STOP, key=lambda w: (-len(w), w))  # a fixed order: a set's varies by process


def _strip_function_words(token: str) -> str:
    """Peel question and function words off the ends of a Chinese token ("哪些方面" -> "方面", "时该" -> "")."""
    changed = True
    while token and changed:
        changed = False
        for word in _ZH_STOP_AFFIXES:
            if len(word) < len(token) and token.startswith(word) and (len(word) > 1 or len(token) > 2 or token[1:] in ZH_STOP):
                token, changed = token[len(word) :], True
                break
            if len(word) < len(token) and token.endswith(word) and (len(word) > 1 or len(token) > 2 or token[:-1] in ZH_STOP):
                token, changed = token[: -len(word)], True
                break
    return "" if token in ZH_STOP else token


def candidate_words(clause: str) -> list[str]:
    """The words of a candidate clause the extractive answerer matches with question terms in
    another script (keyword tokens, once each, without function words and without tokens that
    have no letter: a number is matched as written, never as a translation)."""
    return [w for w in dict.fromkeys(keyword_tokens(clause)) if w not in ZH_STOP and w not in EN_STOP and any(ch.isalpha() for ch in w)]


def word_inputs(text: str, heading: str = "") -> list[str]:
    """Every candidate word of a chunk's clauses (as :func:`rag.text.sentences.sentence_inputs`
    skips the heading's own text): their query vectors are computed at ingest and stored with
    the chunk's segment, so a first read embeds none of them."""
    out: dict[str, None] = {}
    for start, end in clauses(text):
        clause = text[start:end]
        if heading and clause in heading:
            continue
        out.update(dict.fromkeys(candidate_words(clause)))
    return list(out)


def content_terms(text: str) -> list[str]:
    """A text's content terms, in order, once each: keyword tokens that are not function or question words."""
    terms = []
    for token in keyword_tokens(text):
        if not token.isascii():
            token = _strip_function_words(token)
        if not token or token in ZH_STOP or token in EN_STOP:
            continue
        if token not in terms:
            terms.append(token)
    return terms


_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def contains_term(text: str, term: str) -> bool:
    """Whether ``term`` occurs in ``text``: as a substring for Chinese (segmentation cannot miss
    it), case-insensitively from a word start otherwise ("ogród" in "Ogród Saski")."""
    if _CJK_RE.search(term):
        return term in text
    needle, haystack = term.lower(), text.lower()
    at = haystack.find(needle)
    while at >= 0:  # a plain search, not a regex per term: nothing to compile on a term's first use
        if not at or not _WORD_BEFORE.match(haystack[at - 1]):
            return True
        at = haystack.find(needle, at + 1)
    return False


_WORD_BEFORE = re.compile(r"[a-z0-9\u00c0-\u024f]")  # a character that continues a word (the term then starts mid-word)


# English question phrases whose words are not what the question is about: "how long does it
# take" asks for a duration; neither "long" nor "take" needs to occur in the answer.
_HOW_PHRASE = re.compile(r"\bhow (long|many|much|often|far|old|big|large|soon)\b|多久|多长时间", re.IGNORECASE)
_TAKE = re.compile(r"\b(take|takes|taking|took)\b", re.IGNORECASE)


def question_terms(question: str) -> list[str]:
    """A question's content terms: :func:`rag.text.terms.content_terms` without English question
    phrases ("how long", "how many", and "take" in "how long does it take") or 多久."""
    if re.search(r"\bhow long\b", question, re.IGNORECASE):
        question = _TAKE.sub(" ", question)
    return content_terms(_HOW_PHRASE.sub(" how ", question))


_EN_NAME = re.compile(r"(?<![\w'])[A-Z][\w'-]*[a-z0-9][\w'-]*(?:\s+(?:of|de|the|von|van|la|le)?\s*[A-Z][\w'-]+)*")
_DIGITS = re.compile(r"\d+(?:[.,:]\d+)*")
_ZH_NAME_TAGS = frozenset({"nr", "ns", "nt", "nz", "nrt", "nrfg", "eng"})


def names(text: str) -> list[str]:
    """The names and numbers of a text, once each, in order: what an edited question changes to
    ask about something a passage does not have ("Warsaw" for "Kraków", 1910 for 1920).

    English: capitalised words not at the start of a sentence (runs of them as one name);
    Chinese: rjieba's person, place, organisation and other proper-noun tags (two characters or
    more) and Latin words inside Chinese text; numbers written in digits in both."""
    found: list[str] = []
    for m in _EN_NAME.finditer(text):
        before = text[: m.start()].rstrip()
        if before and before[-1] not in '.!?"“' and m.group().lower() not in EN_STOP:
            found.append(m.group().strip())
    if _CJK_RE.search(text):
        import rjieba

        found += [w for w, tag in rjieba.tag(text) if tag in _ZH_NAME_TAGS and len(w) >= 2 and not w.isdigit()]
    found += _DIGITS.findall(text)
    return list(dict.fromkeys(n for n in found if n))
