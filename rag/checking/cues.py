"""Contradiction cues between a statement and the passage window it is judged against.

Two things word coverage cannot see, because the changed statement keeps nearly every word:

- **negation**: the statement negates (not, never, n't, 不, 没有, 未, 无法, 并非…) where the
  window does not, or the window negates where the statement does not;
- **opposites**: the statement uses a word whose opposite the window says instead (rose/fell,
  higher/lower, 支持/反对, 高于/低于), and not the word itself.

English words are compared whole; Chinese opposites of two or more characters as substrings
(rjieba keeps 价格上涨 as one word), single characters (升, 涨) and negations as rjieba tokens, so
上海 is not 上 and 不断 is not a negation. The opposites are written here for the checker, apart from
the lists training/lexicon.py builds its swapped pairs from (the two overlap where the common
opposites are the same; the hand-written paraphrase set is the fair measure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.tokenize import keyword_tokens

__all__ = ["Contradiction", "contradiction"]

_NEGATIONS = frozenset(
    "not no never none nobody nothing neither nor cannot without "
    "不 没 没有 未 无 非 不是 并非 不能 不会 无法 未能 尚未 从未 从不 不再 不得 未曾 不可 不可以 不要 别 勿 毫无 并未 决不 绝不".split()
)
_NT = re.compile(r"n['’]t\b", re.IGNORECASE)
_YES_NO = re.compile(r"(?i)(?:^\s*no(?:[,.!]|\s*$)|[:：]\s*no\s*[.!]?\s*$)")  # "No.", "No, …", "…: no."; not "No account is needed"

_OPPOSITES = [
    ("increase", "decrease"), ("increased", "decreased"), ("increases", "decreases"), ("increasing", "decreasing"),
    ("rise", "fall"), ("rose", "fell"), ("rises", "falls"), ("risen", "fallen"), ("grow", "shrink"), ("grew", "shrank"),
    ("higher", "lower"), ("highest", "lowest"), ("more", "fewer"), ("more", "less"), ("most", "least"), ("larger", "smaller"),
    ("largest", "smallest"), ("bigger", "smaller"), ("biggest", "smallest"), ("greater", "lesser"), ("first", "last"),
    ("before", "after"), ("earlier", "later"), ("earliest", "latest"), ("north", "south"), ("northern", "southern"),
    ("east", "west"), ("eastern", "western"), ("won", "lost"), ("win", "lose"), ("wins", "loses"), ("victory", "defeat"),
    ("accepted", "rejected"), ("approved", "rejected"), ("allowed", "banned"), ("permitted", "prohibited"),
    ("supported", "opposed"), ("support", "oppose"), ("supports", "opposes"), ("began", "ended"), ("opened", "closed"),
    ("above", "below"), ("inside", "outside"), ("success", "failure"), ("succeeded", "failed"), ("successful", "unsuccessful"),
    ("stronger", "weaker"), ("older", "younger"), ("oldest", "youngest"), ("richer", "poorer"), ("public", "private"),
    ("male", "female"), ("maximum", "minimum"), ("legal", "illegal"), ("always", "never"), ("often", "rarely"),
    ("bought", "sold"), ("buy", "sell"), ("gained", "lost"), ("included", "excluded"), ("longer", "shorter"),
    ("longest", "shortest"), ("faster", "slower"), ("cheaper", "dearer"), ("easier", "harder"), ("import", "export"),
    ("imports", "exports"), ("majority", "minority"), ("upper", "lower"), ("entered", "left"), ("true", "false"),
    ("上涨", "下跌"), ("上升", "下降"), ("增加", "减少"), ("增长", "下降"), ("增多", "减少"), ("提高", "降低"), ("升高", "降低"),
    ("扩大", "缩小"), ("高于", "低于"), ("超过", "低于"), ("多于", "少于"), ("大于", "小于"), ("最大", "最小"), ("最高", "最低"),
    ("最多", "最少"), ("最早", "最晚"), ("最长", "最短"), ("之前", "之后"), ("以前", "以后"), ("以上", "以下"), ("开始", "结束"),
    ("成功", "失败"), ("胜利", "失败"), ("获胜", "失利"), ("支持", "反对"), ("赞成", "反对"), ("同意", "拒绝"), ("接受", "拒绝"),
    ("允许", "禁止"), ("批准", "否决"), ("加入", "退出"), ("进口", "出口"), ("买入", "卖出"), ("购买", "出售"), ("北部", "南部"),
    ("东部", "西部"), ("北方", "南方"), ("东方", "西方"), ("国内", "国外"), ("免费", "收费"), ("容易", "困难"), ("正确", "错误"),
    ("首次", "最后"), ("第一", "最后"), ("赢", "输"), ("合法", "非法"), ("公立", "私立"), ("男性", "女性"), ("上游", "下游"),
    ("上半年", "下半年"), ("较高", "较低"), ("更高", "更低"), ("更多", "更少"), ("更大", "更小"), ("升", "降"), ("涨", "跌"),
]
_OPPOSITE: dict[str, frozenset[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE[_a] = _OPPOSITE.get(_a, frozenset()) | {_b}
    _OPPOSITE[_b] = _OPPOSITE.get(_b, frozenset()) | {_a}

_ZH_WORDS = frozenset(w for w in _OPPOSITE if len(w) >= 2 and "\u4e00" <= w[0] <= "\u9fff")


@dataclass(frozen=True, slots=True)
class Contradiction:
    """What a statement says against its window: a negation the window lacks (the word), a
    negation only the window has, a word whose opposite the window says instead (both words)."""

    negates: str | None = None
    window_negates: str | None = None
    opposite: tuple[str, str] | None = None

    def features(self) -> tuple[float, float, float]:
        return float(self.negates is not None), float(self.window_negates is not None), float(self.opposite is not None)

    def reason(self) -> str | None:
        """Why the statement contradicts the window (the opposite, then the negation), or None."""
        if self.opposite is not None:
            return f"says '{self.opposite[0]}' where the passage says '{self.opposite[1]}'"
        if self.negates is not None:
            return f"negates ('{self.negates}') where the passage does not"
        return None


def _negation(text: str, tokens: list[str]) -> str | None:
    # a bare yes/no answer ("…: no.", "No, …") answers the question; it is not a negated claim
    body = _YES_NO.sub("", text)
    if body != text:
        tokens = keyword_tokens(body)
    found = next((t for t in tokens if t in _NEGATIONS), None)
    if found is None and (m := _NT.search(body)):
        found = body[max(0, m.start() - 4) : m.end()].split()[-1]
    return found


def _inside_words(text: str, tokens: list[str]) -> set[str]:
    """The Chinese opposites found inside one rjieba word of ``text`` (上涨 in 价格上涨), never across
    two (以上 in 可以|上传, 上升 in 马上|升级)."""
    spans, at = [], 0
    for token in tokens:
        found = text.find(token, at) if token else -1
        if found < 0:
            found = text.lower().find(token, at)
        if found >= 0:
            spans.append((found, found + len(token)))
            at = found + len(token)
    out = set()
    for word in _ZH_WORDS:
        start = text.find(word)
        while start >= 0:
            if any(a <= start and start + len(word) <= b for a, b in spans):
                out.add(word)
                break
            start = text.find(word, start + 1)
    return out


def contradiction(statement: str, window: str, question: str | None = None) -> Contradiction:
    """The contradiction cues of ``statement`` against ``window`` (see the module docstring). A
    negation the question already has ("Which country did not join?") is the question's, not a claim."""
    said_tokens, there_tokens = keyword_tokens(statement), keyword_tokens(window)
    said, there = set(said_tokens), set(there_tokens)
    negates, window_negates = _negation(statement, said_tokens), _negation(window, there_tokens)
    if question and negates is not None and _negation(question, keyword_tokens(question)) is not None:
        negates = None
    said |= _inside_words(statement, said_tokens)  # rjieba keeps 价格上涨 whole: its 上涨 still counts
    there |= _inside_words(window, there_tokens)
    opposite = next(
        ((word, sorted(_OPPOSITE[word] & there)[0]) for word in sorted(said & _OPPOSITE.keys(), key=lambda w: (statement.lower().find(w), w))
         if word not in there and (_OPPOSITE[word] & there) and not (_OPPOSITE[word] & said)),
        None,
    )
    return Contradiction(negates if window_negates is None else None, window_negates if negates is None else None, opposite)
