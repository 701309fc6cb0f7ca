"""Faithfulness: is each statement of an answer supported by the passages it rests on?

The evaluation harness scores answers with it, and the LLM generator checks every sentence
with it before releasing it, so both use the same code. Steps, each visible in the result:

1. **Statements**: the answer split into sentences (``rag.statements.split_statements`` over
   ``rag.sentences``, Chinese and English), citation markers ``[n]`` taken out of the text and
   kept as the statement's citations.
2. **Support**, per statement, by a :class:`Judge`. The offline :class:`LexicalJudge` needs no
   language model: it finds the window of one or two consecutive passage sentences that holds
   most of the statement's content terms (``rag.terms``), then weighs

   - ``coverage``: the share of the statement's content (terms weighted by length: a Chinese
     character or an English word each count one) found in that window;
   - ``novel_coverage``: the same for the terms the question does not already contain (what the
     answer adds); equal to ``coverage`` without a question;
   - ``missing_numbers``: numbers of the statement that the window does not hold;
   - ``missing_entities``: names (capitalised English words; rjieba's person, place,
     organisation and other proper-noun tags) that the window does not hold;
   - ``similarity``: the embedder's cosine between statement and window, when an embedder
     is given (paraphrases share meaning, not words);
   - ``sentence_coverage``: the best novel coverage by one sentence alone (a fact swapped in from the
     next sentence is covered by a two-sentence window, not by the statement's own sentence);
   - ``pair_coverage``: the share of the statement's adjacent word pairs (Chinese: character
     pairs; not across punctuation; pairs the question has do not count) that the window also
     has side by side: a fact swapped into a sentence breaks the pairs at its edges even when
     its words occur nearby;

   A logistic :class:`SupportPolicy` turns them into a support score in [0, 1], and a
   threshold into a verdict; the weights are fitted by ``benchmarks/checker.py`` on a tuning
   split (fact-swapped CMRC2018 and XQuAD sentences, HaluEval QA answers, hand-written
   paraphrases) and reported on a split kept apart.
3. **Aggregate**: faithfulness = supported statements / statements. An answer without
   statements (an abstention, an empty reply) scores NaN with the reason.

Looking for the one window that says it all is what catches swapped facts: a statement whose
answer span was swapped for another span of the same passage still has every term somewhere
in the passage, but not in one place.

Statement splitting lives in :mod:`rag.statements` and the LLM judge's prompt in
:mod:`rag.judge_prompt`; both are importable from here too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from rag.answering import logistic
from rag.domain import FaithfulnessResult, Statement, StatementVerdict, SupportEvidence
from rag.judge_prompt import JUDGE_INSTRUCTIONS, judge_messages, parse_judgement
from rag.protocols import Embedder, Judge
from rag.sentences import split_sentences
from rag.statements import MARKER_RE, split_statements
from rag.terms import contains_term, content_terms

__all__ = [
    "DEFAULT_SUPPORT_POLICY",
    "FEATURES",
    "JUDGE_INSTRUCTIONS",
    "MARKER_RE",
    "SIMILARITY_SUPPORT_POLICY",
    "FaithfulnessChecker",
    "FaithfulnessResult",
    "Judge",
    "LexicalJudge",
    "Statement",
    "StatementVerdict",
    "SupportEvidence",
    "SupportPolicy",
    "check_answer",
    "judge_messages",
    "parse_judgement",
    "split_statements",
]

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_LATIN = "A-Za-z\u00c0-\u024f"
_EN_NAME_RE = re.compile(
    rf"(?<![{_LATIN}0-9'])[A-Z][{_LATIN}'’-]*[a-z0-9\u00df-\u024f][{_LATIN}0-9'’-]*|(?<![{_LATIN}0-9'])[A-Z]{{2,}}(?![{_LATIN}])"
)
_ZH_NAME_TAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})
_LIST_ITEM = re.compile(r"^\s*(?:\(?\d{1,2}[.)、）]|[（(]?[一二三四五六七八九十]+[、.）)]|[-*•·])\s*")


# -- evidence and verdicts -------------------------------------------------------------


FEATURES = ("coverage", "novel_coverage", "sentence_coverage", "missing_numbers", "missing_entities", "similarity", "pair_coverage")


@dataclass(frozen=True, slots=True)
class SupportPolicy:
    """Logistic weights over :data:`FEATURES` (with and without an embedder) and the verdict threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"a support policy needs {len(FEATURES)} weights, got {len(self.weights)}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {self.threshold}")

    def score(self, evidence: SupportEvidence) -> float:
        return logistic(float(np.dot(np.asarray(self.weights), evidence.vector())) + self.bias, limit=30.0)


# Fitted by benchmarks/checker.py --per-set 300 on its tuning split (fact-swapped CMRC2018 trial
# and XQuAD en sentences, HaluEval QA rows 0-4,999, the even-article half of the hand-written
# paraphrases), each feature's weight kept on the side it can only push; reported on the rest
# (BENCHMARKS.md, "Faithfulness checker"). The default judge needs no model.
DEFAULT_SUPPORT_POLICY = SupportPolicy(weights=(0.059, 0.0, 1.432, -4.967, -1.042, 0.0, 2.839), bias=-2.764, threshold=0.811)
# The same fit with the embedder's similarity as a feature (a judge given an embedder uses it):
# no better on the reporting split.
SIMILARITY_SUPPORT_POLICY = SupportPolicy(weights=(0.0, 0.0, 1.435, -4.981, -1.056, 1.09, 2.811), bias=-3.715, threshold=0.795)


# -- the offline judge -----------------------------------------------------------------


def _weight(term: str) -> float:
    return 1.0 if term.isascii() else float(len(term))


def _numbers(text: str) -> set[str]:
    return {m.group().replace(",", "").rstrip(".") for m in _NUMBER_RE.finditer(text)}


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
                missing_numbers = tuple(sorted(numbers - _numbers(window)))
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


# -- the checker -----------------------------------------------------------------------


class FaithfulnessChecker:
    """Splits an answer into statements and has a :class:`Judge` check each against the passages."""

    def __init__(self, judge: Judge | None = None) -> None:
        self.judge = judge or LexicalJudge()

    def check(
        self,
        answer: str,
        passages: Sequence[str],
        question: str | None = None,
        *,
        abstained: bool = False,
    ) -> FaithfulnessResult:
        """Score ``answer`` against ``passages`` (all of them; see :meth:`check_cited` for the cited ones)."""
        if abstained:
            return FaithfulnessResult((), math.nan, "abstained", self.judge.name)
        statements = split_statements(answer)
        if not statements:
            return FaithfulnessResult((), math.nan, "the answer has no statements", self.judge.name)
        if not passages:
            verdicts = tuple(StatementVerdict(s, False, 0.0, "no passage to check against") for s in statements)
            return FaithfulnessResult(verdicts, 0.0, None, self.judge.name)
        judged = self.judge.judge([s.text for s in statements], passages, question)
        verdicts = tuple(_at(v, s) for v, s in zip(judged, statements))
        return FaithfulnessResult(verdicts, sum(v.supported for v in verdicts) / len(verdicts), None, self.judge.name)

    def supports(self, statement: str, passages: Sequence[str], question: str | None = None) -> StatementVerdict:
        """One statement against some passages (the citation metrics ask this for subsets of citations)."""
        return self.judge.judge([statement], passages, question)[0]

    def check_cited(
        self, answer: str, passages: Mapping[int, str], question: str | None = None
    ) -> list[tuple[Statement, StatementVerdict | None]]:
        """Each statement against the passages its markers cite (``passages`` maps marker to text);
        ``None`` for a statement that cites nothing it can be checked against."""
        out: list[tuple[Statement, StatementVerdict | None]] = []
        for statement in split_statements(answer):
            cited = [passages[m] for m in statement.markers if m in passages]
            out.append((statement, _at(self.supports(statement.text, cited, question), statement) if cited else None))
        return out


def _at(verdict: StatementVerdict, statement: Statement) -> StatementVerdict:
    return replace(verdict, statement=statement)


def check_answer(answer: str, passages: Sequence[str], question: str | None = None, *, judge: Judge | None = None) -> FaithfulnessResult:
    """Check ``answer`` statement by statement against ``passages`` with ``judge`` (the offline
    :class:`LexicalJudge` by default): the one-call form of :meth:`FaithfulnessChecker.check`."""
    return FaithfulnessChecker(judge).check(answer, passages, question)
