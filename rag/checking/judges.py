"""The offline judge: does one window of a passage hold what a statement says?

:class:`LexicalJudge` needs no language model; see :mod:`rag.checking` for the features it
weighs and :mod:`rag.checking.policy` for the fitted weights that turn them into a verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from rag.checking.policy import DEFAULT_SUPPORT_POLICY, SIMILARITY_SUPPORT_POLICY, SupportPolicy
from rag.domain import Statement, StatementVerdict, SupportEvidence
from rag.protocols import Embedder
from rag.text.sentences import split_sentences
from rag.text.terms import contains_term, content_terms

__all__ = ["LexicalJudge"]

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_LATIN = "A-Za-z\u00c0-\u024f"
_EN_NAME_RE = re.compile(
    rf"(?<![{_LATIN}0-9'])[A-Z][{_LATIN}'’-]*[a-z0-9\u00df-\u024f][{_LATIN}0-9'’-]*|(?<![{_LATIN}0-9'])[A-Z]{{2,}}(?![{_LATIN}])"
)
_ZH_NAME_TAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})
_LIST_ITEM = re.compile(r"^\s*(?:\(?\d{1,2}[.)、）]|[（(]?[一二三四五六七八九十]+[、.）)]|[-*•·])\s*")


def _weight(term: str) -> float:
    return 1.0 if term.isascii() else float(len(term))


def _numbers(text: str, *, parts: bool = False) -> set[str]:
    """The numbers of a text (``1,200`` as ``1200``). With ``parts`` (the passage side), also each
    piece of a dotted number and its value without leading zeros, so that "2012" or "12" is found
    in "2012.12:01" (a date written with dots), while a statement's "2012.12" still needs the whole."""
    found = {m.group().replace(",", "").rstrip(".") for m in _NUMBER_RE.finditer(text)}
    if parts:
        pieces = {piece for number in found for piece in number.split(".") if piece}
        found |= pieces | {piece.lstrip("0") or "0" for piece in pieces}
    return found


@lru_cache(maxsize=4096)
def _names(text: str) -> tuple[str, ...]:
    """Proper names in a text: capitalised English words not at a sentence start, Chinese names by rjieba tag."""
    names: list[str] = []
    for match in _EN_NAME_RE.finditer(text):
        before = text[: match.start()].rstrip()
        if not before or before[-1] in ".!?。！？\"'“‘(（[":
            continue  # sentence-initial capital: not evidence of a name
        names.append(match.group().lower())
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        import rjieba

        names += [w for w, tag in rjieba.tag(text) if tag in _ZH_NAME_TAGS and len(w) >= 2]
    return tuple(dict.fromkeys(names))


_UNIT_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff_]+")


_PAUSE_RE = re.compile(r"[,;:()\[\]{}\"“”‘’«»—–、，；：（）【】《》「」『』。！？!?]|\.(?=\s|$)|\s-\s")


def _segments(text: str) -> list[list[str]]:
    """The lower-cased words (Chinese: characters) of each stretch between punctuation."""
    return [units for part in _PAUSE_RE.split(text) if (units := [u.lower() for u in _UNIT_RE.findall(part)])]


def _pairs(text: str) -> list[tuple[str, str]]:
    """Adjacent word pairs (Chinese: character pairs) within each stretch between punctuation."""
    return [pair for units in _segments(text) for pair in zip(units, units[1:])]


def _pair_coverage(pairs: Sequence[tuple[str, str]], window_pairs: set[tuple[str, str]]) -> float:
    return sum(p in window_pairs for p in pairs) / len(pairs) if pairs else 1.0


def _windows(passage: str) -> list[tuple[int, int]]:
    """Spans of one and of two consecutive sentences (the whole passage when it has none)."""
    spans = [(s.start, s.end) for s in split_sentences(passage)] or [(0, len(passage))]
    return spans + [(a[0], b[1]) for a, b in zip(spans, spans[1:])]


def _coverage(terms: Sequence[str], text: str) -> tuple[float, list[str]]:
    if not terms:
        return 1.0, []
    missing = [t for t in terms if not contains_term(text, t)]
    total = sum(_weight(t) for t in terms)
    return 1.0 - sum(_weight(t) for t in missing) / total, missing


@dataclass
class LexicalJudge:
    """The offline judge: term, number and name coverage in the best passage window, plus the
    embedder's similarity when one is given (see the module docstring)."""

    embedder: Embedder | None = None
    policy: SupportPolicy | None = None  # default: DEFAULT_SUPPORT_POLICY, or SIMILARITY_SUPPORT_POLICY with an embedder
    name: str = "offline"

    def __post_init__(self) -> None:
        if self.policy is None:
            self.policy = DEFAULT_SUPPORT_POLICY if self.embedder is None else SIMILARITY_SUPPORT_POLICY

    def evidence(self, statement: str, passages: Sequence[str], question: str | None = None) -> SupportEvidence | None:
        """The features of the best window for one statement (no similarity), or None without passages."""
        statement = _LIST_ITEM.sub("", statement)  # "2. 客服..." — the list number is layout, not a claim
        terms = content_terms(statement)
        asked = question or ""
        novel = [t for t in terms if not contains_term(asked, t)] if asked else terms
        numbers = _numbers(statement) - _numbers(asked)
        names = [n for n in _names(statement) if not contains_term(asked, n)]
        asked_pairs = set(_pairs(asked))
        segments = _segments(statement)
        pairs = [p for units in segments for p in zip(units, units[1:]) if p not in asked_pairs]  # what the answer adds
        best: tuple[float, ...] | None = None
        found: SupportEvidence | None = None
        sentence_coverage = 0.0
        for index, passage in enumerate(passages):
            windows = _windows(passage)
            singles = len(windows) // 2 + 1  # _windows lists the single sentences first
            for position, (start, end) in enumerate(windows):
                window = passage[start:end]
                coverage, missing = _coverage(terms, window)
                novel_coverage, _ = _coverage(novel, window)
                if position < singles:
                    sentence_coverage = max(sentence_coverage, novel_coverage)
                missing_numbers = tuple(sorted(numbers - _numbers(window, parts=True)))
                missing_names = tuple(n for n in names if not contains_term(window, n))
                window_pairs = set(_pairs(window))
                pair_coverage = _pair_coverage(pairs, window_pairs)
                rank = (
                    novel_coverage + coverage + pair_coverage - 0.5 * bool(missing_numbers) - 0.5 * bool(missing_names),
                    -(end - start),
                )
                if best is None or rank > best:
                    best = rank
                    found = SupportEvidence(
                        index, start, end, coverage, novel_coverage, 0.0, math.nan, pair_coverage,
                        tuple(missing), missing_numbers, missing_names,
                    )
        if found is not None:
            found = replace(found, sentence_coverage=sentence_coverage)
        return found

    def judge(self, statements: Sequence[str], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]:
        found = [self.evidence(s, passages, question) for s in statements]
        if self.embedder is not None:
            pairs = [(i, e) for i, e in enumerate(found) if e is not None]
            if pairs:
                texts = [statements[i] for i, _ in pairs] + [passages[e.passage][e.start : e.end] for _, e in pairs]
                vectors = self.embedder.embed_queries(texts)
                n = len(pairs)
                for (i, e), a, b in zip(pairs, vectors[:n], vectors[n:]):
                    similarity = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))
                    found[i] = _with_similarity(e, similarity)
        verdicts = []
        for text, evidence in zip(statements, found):
            statement = Statement(text, 0, len(text))
            if evidence is None:
                verdicts.append(StatementVerdict(statement, False, 0.0, "no passage to check against"))
                continue
            assert self.policy is not None
            score = self.policy.score(evidence)
            supported = score >= self.policy.threshold
            verdicts.append(StatementVerdict(statement, supported, score, _why(evidence, supported), evidence))
        return verdicts


def _with_similarity(evidence: SupportEvidence, similarity: float) -> SupportEvidence:
    return replace(evidence, similarity=similarity)


def _quote(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(f"'{t}'" for t in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _why(evidence: SupportEvidence, supported: bool) -> str:
    where = f"passage [{evidence.passage + 1}] chars {evidence.start}-{evidence.end}"
    facts = f"coverage {evidence.coverage:.2f}, word pairs {evidence.pair_coverage:.2f}"
    if not math.isnan(evidence.similarity):
        facts += f", similarity {evidence.similarity:.2f}"
    problems = []
    if evidence.missing_numbers:
        problems.append(f"number {_quote(evidence.missing_numbers)} not there")
    if evidence.missing_entities:
        problems.append(f"name {_quote(evidence.missing_entities)} not there")
    if evidence.missing_terms:
        problems.append(f"missing {_quote(evidence.missing_terms)}")
    detail = "; ".join(problems)
    if supported:
        return f"supported by {where} ({facts}{'; ' + detail if detail else ''})"
    return f"not supported: best match {where} ({facts}){'; ' + detail if detail else ''}"
