"""Answers without a language model: the sentences of the retrieved passages that answer the
question, in document order, each cited; or an abstention when nothing supports an answer.

Steps (each visible in :class:`Evidence`):

1. Candidate sentences: the sentences of the top passages (``rag.text.sentences``), headings aside.
2. Each is scored by the dense similarity of the question to the sentence (read with its
   section heading), standardised over the candidates, plus how much of the question's
   content it covers (key terms weighted by rarity in the index, matched as substrings so
   Chinese word segmentation cannot miss them).
3. The best sentence is taken, with up to ``max_sentences - 1`` more from the same passage
   that add question terms it lacks and score close to it.
4. Abstention combines evidence rather than one similarity threshold (e5 scores unanswerable
   questions as high as answerable ones): key-term coverage of the evidence, question terms
   the index has never seen, whether the evidence has what the question asks for (a number
   for "多少"/"how many", a year for "哪一年", a duration for "how long", a person for "who
   founded"), how far the best sentence stands out from the other candidates, and whether the
   question is in the documents' language. The weights are fitted on calibration questions kept apart from the
   test questions (``benchmarks/calibrate_abstention.py``) and live in :data:`DEFAULT_POLICY`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from rag.answering.answer_types import expected_answer_type, has_answer_type
from rag.answering.policy import DEFAULT_POLICY, AbstentionPolicy, Evidence, abstention
from rag.domain import Answer, Citation, Passage
from rag.embedders import VectorCache
from rag.protocols import CorpusStatistics, Embedder
from rag.text.language import detect_language
from rag.text.sentences import split_sentences
from rag.text.terms import EN_STOP, ZH_STOP, contains_term, question_terms
from rag.text.tokenize import keyword_tokens

__all__ = ["ExtractiveGenerator"]

_ELABORATION = re.compile(r"^(例如|比如|譬如|如|包括|for example|for instance|e\.g\.|such as)", re.IGNORECASE)


# A sentence that qualifies the one before it ("当然，部分高级服务可能会涉及费用" after "客服服务是免费的"):
# shown alone it says the opposite of the answer, so it never is (issue 15).
_QUALIFIER = re.compile(
    r"^(of course|however|but|even so|that said|nevertheless|nonetheless|otherwise|on the other hand)\b|^(当然|但是|但|然而|不过|只是|否则|相反|反之)",
    re.IGNORECASE,
)
_SEMICOLON = re.compile(r"[;；]")
_LIST_QUESTION = re.compile(r"哪些|有什么|什么样的|which|what (are|kinds?|types?)", re.IGNORECASE)
_ENUMERATION = re.compile(r"^(首先|其次|再次|此外|另外|最后|第[一二三四五六七八九十]|first|second|third|also|finally|moreover|in addition)", re.IGNORECASE)


def _clauses(text: str) -> list[tuple[int, int]]:
    """Sentences, with long ones also cut at semicolons: each clause then is a citable unit on its own."""
    out = []
    for span in split_sentences(text):
        start = span.start
        for match in _SEMICOLON.finditer(text, span.start, span.end - 1):
            if text[start : match.end()].strip():
                out.append((start, match.end()))
            start = match.end()
            while start < span.end and text[start].isspace():
                start += 1
        out.append((start, span.end))
    return out


@dataclass
class _Candidate:
    passage: Passage
    start: int  # in the source's stored text
    end: int
    text: str
    heading: str
    dense: float = 0.0
    lexical: float = 0.0
    score: float = 0.0
    covered: set[str] = field(default_factory=set)
    rank: int = 0  # 1 = the best scored
    why: str = ""  # why it is in the answer


@dataclass
class _Selection:
    evidence: Evidence
    chosen: list[_Candidate]
    candidates: int
    unseen: list[str]
    expected: str | None


class ExtractiveGenerator:
    """Answers by citing the sentences of the passages that answer the question (no LLM)."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        statistics: CorpusStatistics,
        *,
        policy: AbstentionPolicy = DEFAULT_POLICY,
        max_sentences: int = 3,
        max_passages: int = 5,
        lexical_weight: float = 3.0,
        translation_similarity: float = 0.88,
        max_enumeration: int = 4,
    ) -> None:
        if max_sentences <= 0:
            raise ValueError(f"max_sentences must be positive, got {max_sentences}")
        if max_passages <= 0:
            raise ValueError(f"max_passages must be positive, got {max_passages}")
        self.embedder = embedder
        self.statistics = statistics  # how common a term is in the corpus, what language its vocabulary is
        self.policy = policy
        self.max_sentences = max_sentences
        self.max_passages = max_passages
        self.lexical_weight = lexical_weight
        self.translation_similarity = translation_similarity
        self.max_enumeration = max_enumeration
        # Sentence vectors of recently read passages: questions about the same passages (a
        # conversation, an evaluation run) do not embed its sentences again.
        self._vectors = VectorCache(self._CACHED_SENTENCES)
        self._words = VectorCache(self._CACHED_WORDS)  # the candidates' words, matched against question terms in another script

    _CACHED_SENTENCES = 4096
    _CACHED_WORDS = 16384

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        return self._vectors.get(texts, self.embedder.embed_passages)

    # -- steps ----------------------------------------------------------------------

    def _idf(self, term: str) -> float:
        n = max(1, self.statistics.n_chunks)
        df = self.statistics.document_frequency(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _countable(self, terms: list[str]) -> list[str]:
        """Terms that can be matched lexically: those the index has, and any term in a script
        the index is largely written in. English words against a Chinese corpus are left to
        the dense score (unless the index has them verbatim, as it has names like Coinbase)."""
        ascii_share = self.statistics.ascii_vocab_share
        return [
            t
            for t in terms
            if self.statistics.document_frequency(t) > 0 or (ascii_share >= 0.3 if t.isascii() else ascii_share <= 0.7)
        ]

    def _candidates(self, passages: Sequence[Passage]) -> list[_Candidate]:
        out: list[_Candidate] = []
        for passage in passages[: self.max_passages]:
            chunk = passage.chunk
            for start, end in _clauses(chunk.text):
                text = chunk.text[start:end]
                if chunk.heading and text in chunk.heading:
                    continue  # the section's own title is context, not an answer
                out.append(_Candidate(passage, chunk.start + start, chunk.start + end, text, chunk.heading))
        return out

    def _soft_cover(self, soft_terms: list[str], candidates: list[_Candidate]) -> list[set[str]]:
        """Cross-lingual coverage: a question term in a script the index does not use is covered by a
        candidate when one of its words is a translation of it, judged by the embedder's word
        similarity (e5 puts "account" and 账户 at 0.92, "founded" and any word of an unrelated
        sentence below 0.87)."""
        if not soft_terms:
            return [set() for _ in candidates]
        words_of = [
            [w for w in dict.fromkeys(keyword_tokens(c.text)) if w not in ZH_STOP and w not in EN_STOP] for c in candidates
        ]
        vocabulary = list(dict.fromkeys(w for words in words_of for w in words))
        if not vocabulary:
            return [set() for _ in candidates]
        similarity = self._words.get(soft_terms, self.embedder.embed_queries) @ self._words.get(vocabulary, self.embedder.embed_queries).T
        position = {w: i for i, w in enumerate(vocabulary)}
        covered = []
        for words in words_of:
            columns = [position[w] for w in words]
            best = similarity[:, columns].max(axis=1) if columns else np.zeros(len(soft_terms))
            covered.append({t for t, b in zip(soft_terms, best, strict=True) if b >= self.translation_similarity})
        return covered

    def evidence_for(self, question: str, passages: Sequence[Passage]) -> tuple[Evidence, list[_Candidate]]:
        """Score the candidate sentences and pick the answer sentences (in document order)."""
        selection = self._select(question, passages)
        return selection.evidence, selection.chosen

    def _select(self, question: str, passages: Sequence[Passage]) -> _Selection:
        candidates = self._candidates(passages)
        if not candidates:
            raise ValueError("no candidate sentences")
        terms = question_terms(question)
        exact_terms = self._countable(terms)
        soft_terms = [t for t in terms if t not in exact_terms]
        weights = {t: self._idf(t) for t in exact_terms}
        soft_weight = float(np.mean(list(weights.values()))) if weights else 1.0
        weights.update(dict.fromkeys(soft_terms, soft_weight))
        total = sum(weights.values())

        vectors = self._sentence_vectors([f"{c.heading}\n{c.text}" if c.heading else c.text for c in candidates])
        query = self.embedder.embed_queries([question])[0]
        dense = vectors @ query
        # e5's cosines sit in a narrow band (0.8-0.95): a spread of a few hundredths is noise,
        # not evidence, so standardise by at least 0.02.
        spread = max(float(dense.std()), 0.02)
        soft = self._soft_cover(soft_terms, candidates)
        for c, d, soft_covered in zip(candidates, dense, soft, strict=True):
            c.dense = float(d)
            c.covered = {t for t in exact_terms if contains_term(c.text, t) or contains_term(c.heading, t)} | soft_covered
            c.lexical = sum(weights[t] for t in c.covered) / total if total else 0.0
            c.score = (c.dense - float(dense.mean())) / spread + self.lexical_weight * c.lexical
        ranked = sorted(candidates, key=lambda c: -c.score)
        for n, c in enumerate(ranked, start=1):
            c.rank = n
        best = ranked[0]
        best.why = "the sentence closest to the question"
        chosen = [best]
        for c in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            adds_terms = c.covered - set().union(*(x.covered for x in chosen))
            if c.passage.chunk.vector_id == best.passage.chunk.vector_id and adds_terms and c.score >= best.score - 0.5:
                c.why = f"from the same passage, it adds {_quoted(sorted(adds_terms))}"
                chosen.append(c)
        # A sentence that opens with "for example" elaborates the one before it: keep them together.
        for c in list(chosen):
            following = next((x for x in candidates if x.passage is c.passage and x.start >= c.end), None)
            if following is not None and following not in chosen and _ELABORATION.match(following.text):
                following.why = "the example that follows a chosen sentence"
                chosen.append(following)
        # "Which ...?" answered by one item of an enumeration (首先/其次/此外, first/second/also):
        # the answer is the enumeration, so take its other items from the same passage.
        if _LIST_QUESTION.search(question) and _ENUMERATION.match(best.text):
            items = [x for x in candidates if x.passage is best.passage and _ENUMERATION.match(x.text) and x not in chosen]
            for x in items:
                x.why = "another item of the list the question asks for"
            chosen.extend(items[: max(0, self.max_enumeration - len(chosen))])
        chosen = self._with_qualified(chosen, candidates)
        covered = set().union(*(c.covered for c in chosen))
        passage_covered = {t for t in exact_terms if contains_term(best.passage.chunk.text, t)} | set().union(
            *(x.covered for x in candidates if x.passage is best.passage)
        )
        seen_anywhere = set().union(*(x.covered for x in candidates))
        unseen = [
            t
            for t in terms
            if t not in seen_anywhere
            and (t in soft_terms or (self.statistics.document_frequency(t) == 0 and not self._seen_as_text(t, passages)))
        ]
        chosen_text = " ".join(c.text for c in chosen)
        expected = expected_answer_type(question)
        evidence = Evidence(
            coverage=sum(weights[t] for t in covered) / total if total else 0.0,
            passage_coverage=sum(weights[t] for t in passage_covered) / total if total else 0.0,
            unseen=sum(weights[t] for t in unseen) / total if total else 0.0,
            type_missing=0.0 if has_answer_type(chosen_text, expected) else 1.0,
            dense=best.dense,
            dense_margin=(best.dense - float(dense.mean())) / spread,
            cross_lingual=float(detect_language(question) != detect_language(chosen_text)),
            countable=float(len(terms)),
        )
        ordered = sorted(chosen, key=lambda c: (c.passage.chunk.path, c.start))
        return _Selection(evidence, ordered, len(candidates), unseen, expected)

    def _with_qualified(self, chosen: list[_Candidate], candidates: list[_Candidate]) -> list[_Candidate]:
        """A chosen qualifier comes with the statement it qualifies, the sentence before it in its
        passage. With no room left, the lowest-ranked other sentence (not the best one) makes room;
        with none to spare, the two count as one (a qualifier alone would say the opposite)."""
        out = list(chosen)
        for c in chosen:
            if not _QUALIFIER.match(c.text.lstrip()):
                continue
            before = [x for x in candidates if x.passage is c.passage and x.end <= c.start]
            main = max(before, key=lambda x: x.start) if before else None
            if main is None or main in out:
                continue
            main.why = "the statement that the next sentence qualifies (never shown without it)"
            if len(out) >= self.max_sentences:
                spare = [x for x in out[1:] if x is not c]
                if spare:
                    out.remove(max(spare, key=lambda x: x.rank))
            out.insert(out.index(c), main)
        return out

    @staticmethod
    def _seen_as_text(term: str, passages: Sequence[Passage]) -> bool:
        """A term the tokenizer split differently may still occur verbatim in the retrieved text."""
        return any(contains_term(p.chunk.text, term) for p in passages)

    # -- the answer -------------------------------------------------------------------

    def generate(self, question: str, passages: Sequence[Passage]) -> Answer:
        language = detect_language(question)
        if not passages:
            return self._abstain(question, language, "nothing was retrieved", 0.0, passages)
        try:
            selection = self._select(question, passages)
        except ValueError:
            return self._abstain(question, language, "the retrieved passages hold no sentences", 0.0, passages)
        evidence, chosen = selection.evidence, selection.chosen
        support = self.policy.support(evidence)
        if support < self.policy.threshold or evidence.type_missing:
            # A question that asks for a number, a year, a duration or a person is not answered by
            # sentences that hold none, however well they match its words.
            refused = self._abstain(question, language, _why(evidence), support, passages)
            return replace(refused, explanation=_refusal(selection, support, self.policy.threshold))
        citations = tuple(
            Citation(
                marker=n,
                source=c.passage.chunk.path,
                source_id=c.passage.chunk.source_id,
                start=c.start,
                end=c.end,
                text=c.text,
                score=round(c.score, 4),
                page=c.passage.chunk.page,
            )
            for n, c in enumerate(chosen, start=1)
        )
        joiner = "" if language == "zh" else " "
        text = joiner.join(f"{c.text}[{n}]" for n, c in enumerate(chosen, start=1))
        return Answer(
            question=question,
            text=text,
            abstained=False,
            citations=citations,
            language=language,
            generator=self.name,
            support=round(support, 4),
            passages=tuple(passages),
            explanation=_chosen(selection, support, self.policy.threshold),
        )

    def _abstain(self, question: str, language: str, reason: str, support: float, passages: Sequence[Passage]) -> Answer:
        return abstention(question, language, self.name, reason, support=support, passages=passages)


def _quoted(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{t}'" for t in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _chosen(selection: _Selection, support: float, threshold: float) -> tuple[str, ...]:
    lines = [
        f"[{n}] {c.why or 'chosen'}: similarity to the question {c.dense:.2f}, ranked {c.rank} of {selection.candidates} sentences read; "
        + (f"holds {_quoted(sorted(c.covered))}" if c.covered else "holds none of the question's key terms")
        for n, c in enumerate(selection.chosen, start=1)
    ]
    lines.append(f"answered: the evidence scores {support:.3f} (at least {threshold:.3f} is needed to answer)")
    return tuple(lines)


_KINDS = {"person": "a person", "year": "a year", "duration": "a duration", "number": "a number"}


def _refusal(selection: _Selection, support: float, threshold: float) -> tuple[str, ...]:
    e = selection.evidence
    best = min(selection.chosen, key=lambda c: c.rank)
    lines = [f"refused: {_why(e)}"]
    if e.type_missing and selection.expected:
        lines.append(f"the question asks for {_KINDS.get(selection.expected, selection.expected)}, and the best sentences hold none")
    if selection.unseen:
        lines.append(f"never in the documents: {_quoted(selection.unseen)}")
    lines.append(f"the evidence scores {support:.3f}; at least {threshold:.3f} is needed to answer "
                 f"(key terms covered {e.coverage:.0%}, by the best passage {e.passage_coverage:.0%})")
    quote = best.text if len(best.text) <= 80 else best.text[:79] + "…"
    lines.append(f"closest sentence (similarity {best.dense:.2f}): “{quote}”")  # no path: the API never shows server paths
    return tuple(lines)


def _why(evidence: Evidence) -> str:
    if evidence.type_missing:
        return "the passages do not contain the kind of answer asked for"
    if evidence.unseen >= 0.3:
        return "key terms of the question do not occur in the documents"
    if evidence.coverage < 0.5 and evidence.countable:
        return "no passage sentence covers the question's key terms"
    return "no passage sentence supports an answer"
