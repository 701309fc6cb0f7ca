"""Answers without a language model: the sentences of the retrieved passages that answer the
question, in document order, each cited; or an abstention when nothing supports an answer.

Steps (each visible in :class:`Evidence` and ``--explain``):

1. Candidate sentences: the sentences of the top passages (``rag.text.sentences``), headings aside.
2. Each gets cheap features (rag/answering/selection.py): the dense similarity of the question to
   the sentence (read with its section heading), standardised over the candidates; how much of
   the question's content it covers (key terms weighted by rarity in the index, matched as
   substrings so Chinese word segmentation cannot miss them); whether it holds the kind of answer
   asked for; the question's names it holds; its passage's rank. The answer reader
   (rag/answering/reader.py) reads the few ranked first by similarity and coverage.
3. The learned selector scores every candidate; the best is taken, with up to
   ``max_sentences - 1`` more from the same passage that add question terms it lacks and score
   within the selector's margin of it; an example that follows a chosen sentence, the other items
   of a list asked for, and the statement a chosen qualifier qualifies come with it.
4. Abstention combines evidence rather than one similarity threshold (e5 scores unanswerable
   questions as high as answerable ones): key-term coverage, question terms the index has never
   seen, names and numbers of the question the best passage lacks, whether the evidence has what
   the question asks for (a number for "多少"/"how many", a year for "哪一年", a duration for "how
   long", a person for "who founded"; without one it always refuses), how far the best sentence
   stands out, the selector's and the reader's confidence. Selector and policy are fitted by
   ``training/answerer.py`` and stored in ``rag/answering/answerer.json``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from rag.answering.answer_types import expected_answer_type, has_answer_type
from rag.answering.policy import DEFAULT_POLICY, DEFAULT_SELECTOR, FEATURES, AbstentionPolicy, Evidence, abstention
from rag.answering.reader import AnswerReader
from rag.answering.selection import CANDIDATE_FEATURES, QUALIFIER, SentenceSelector, candidate_vector
from rag.domain import Answer, Citation, Passage
from rag.embedders import VectorCache
from rag.protocols import CorpusStatistics, Embedder, SentenceVectors
from rag.text.language import detect_language
from rag.text.sentences import clauses as _clauses
from rag.text.terms import WORD_KEY, candidate_words, contains_term, names, question_terms

__all__ = ["ExtractiveGenerator", "Selection"]

READER = CANDIDATE_FEATURES.index("reader")
BUNDLED = AnswerReader()  # one per process, loaded on first use (only by an answerer that listens to it)
_ELABORATION = re.compile(r"^(例如|比如|譬如|如|包括|for example|for instance|e\.g\.|such as)", re.IGNORECASE)


_LIST_QUESTION = re.compile(r"哪些|有什么|什么样的|which|what (are|kinds?|types?)", re.IGNORECASE)
_ENUMERATION = re.compile(r"^(首先|其次|再次|此外|另外|最后|第[一二三四五六七八九十]|first|second|third|also|finally|moreover|in addition)", re.IGNORECASE)


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
    features: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the selector's (CANDIDATE_FEATURES)


@dataclass
class Selection:
    """What the answerer read and chose for one question (``training/answerer.py`` fits on it)."""

    evidence: Evidence
    chosen: list[_Candidate]
    candidates: int
    unseen: list[str]
    expected: str | None
    read: list[_Candidate] = field(default_factory=list)  # every candidate, in passage order
    missing_names: list[str] = field(default_factory=list)  # the question's names and numbers the best passage lacks


class ExtractiveGenerator:
    """Answers by citing the sentences of the passages that answer the question (no LLM)."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        statistics: CorpusStatistics,
        *,
        policy: AbstentionPolicy = DEFAULT_POLICY,
        selector: SentenceSelector = DEFAULT_SELECTOR,
        reader: AnswerReader | None = BUNDLED,
        max_sentences: int = 3,
        max_passages: int = 5,
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
        self.selector = selector
        self.reader = reader  # None: sentences are ranked without it (tests, or a lighter answerer)
        self.translation_similarity = translation_similarity
        self.max_enumeration = max_enumeration
        # Sentence vectors of recently read passages: questions about the same passages (a
        # conversation, an evaluation run) do not embed its sentences again.
        self._vectors = VectorCache(self._CACHED_SENTENCES)
        self._words = VectorCache(self._CACHED_WORDS)  # the candidates' words, matched against question terms in another script

    _CACHED_SENTENCES = 4096
    _CACHED_WORDS = 16384

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        return self._vectors.get(texts, self._stored_or_embedded)

    def _stored_or_embedded(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence vectors the index stored at ingest, the rest embedded now (an imported index,
        or one written before sentence vectors were stored)."""
        return self._stored_then_embedded(texts, "", self.embedder.embed_passages)

    def _stored_or_embedded_words(self, words: Sequence[str]) -> np.ndarray:
        """Query vectors of candidate words the index stored at ingest, the rest embedded now."""
        return self._stored_then_embedded(words, WORD_KEY, self.embedder.embed_queries)

    def _stored_then_embedded(self, texts: Sequence[str], prefix: str, embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        """The vectors stored under ``prefix`` + each text, the missing ones from ``embed``."""
        stored = self.statistics.sentence_vectors([prefix + t for t in texts]) if isinstance(self.statistics, SentenceVectors) else {}
        missing = [t for t in texts if prefix + t not in stored]
        if missing:
            stored.update(zip((prefix + t for t in missing), embed(missing), strict=True))
        if not texts:
            return embed([])
        return np.stack([np.asarray(stored[prefix + t], dtype=np.float32) for t in texts])

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
        words_of = [candidate_words(c.text) for c in candidates]
        vocabulary = list(dict.fromkeys(w for words in words_of for w in words))
        if not vocabulary:
            return [set() for _ in candidates]
        similarity = self._words.get(soft_terms, self.embedder.embed_queries) @ self._words.get(vocabulary, self._stored_or_embedded_words).T
        position = {w: i for i, w in enumerate(vocabulary)}
        covered = []
        for words in words_of:
            columns = [position[w] for w in words]
            best = similarity[:, columns].max(axis=1) if columns else np.zeros(len(soft_terms))
            covered.append({t for t, b in zip(soft_terms, best, strict=True) if b >= self.translation_similarity})
        return covered

    def _reads(self) -> bool:
        """Whether the selector or the policy listens to the reader (the shipped ones do not yet)."""
        return bool(self.selector.weights[READER] or self.policy.weights[FEATURES.index("reader")])

    def evidence_for(self, question: str, passages: Sequence[Passage]) -> tuple[Evidence, list[_Candidate]]:
        """Score the candidate sentences and pick the answer sentences (in document order)."""
        selection = self.select(question, passages)
        return selection.evidence, selection.chosen

    def select(self, question: str, passages: Sequence[Passage]) -> Selection:
        """Every candidate sentence read, scored, and the ones chosen; ValueError when there are none."""
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

        vectors = self._sentence_vectors([f"{c.heading}\n{c.text}" if c.heading else c.text for c in candidates])  # as sentence_inputs()
        query = self.embedder.embed_queries([question])[0]
        dense = vectors @ query
        # e5's cosines sit in a narrow band (0.8-0.95): a spread of a few hundredths is noise,
        # not evidence, so standardise by at least 0.02.
        spread = max(float(dense.std()), 0.02)
        soft = self._soft_cover(soft_terms, candidates)
        expected = expected_answer_type(question)
        asked_names = names(question)
        passage_rank = {id(p): n for n, p in enumerate(passages, start=1)}
        previous: Passage | None = None
        for c, d, soft_covered in zip(candidates, dense, soft, strict=True):
            c.dense = float(d)
            in_text = {t for t in exact_terms if contains_term(c.text, t)} | soft_covered
            c.covered = in_text | {t for t in exact_terms if contains_term(c.heading, t)}
            c.lexical = sum(weights[t] for t in c.covered) / total if total else 0.0
            c.features = candidate_vector(
                z_dense=(c.dense - float(dense.mean())) / spread, dense=c.dense, lexical=c.lexical,
                text_lexical=sum(weights[t] for t in in_text) / total if total else 0.0, expected=expected, text=c.text,
                covered=sorted(c.covered), passage_rank=passage_rank.get(id(c.passage), len(passages)),
                first=c.passage is not previous, question_names=asked_names,
                passage_text=f"{c.passage.chunk.heading}\n{c.passage.chunk.text}",
            )
            previous = c.passage
        if self.reader is not None and self._reads():
            # The reader reads the sentences the cheap scores rank first (similarity and coverage).
            cheap = sorted(candidates, key=lambda c: -(float(c.features[0]) + 3.0 * c.lexical))[: self.reader.max_sentences]
            for c, p in zip(cheap, self.reader.scores(question, [c.text for c in cheap]), strict=True):
                c.features[READER] = float(p)
        for c, score in zip(candidates, self.selector.scores(np.stack([c.features for c in candidates])), strict=True):
            c.score = float(score)
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
            if c.passage.chunk.vector_id == best.passage.chunk.vector_id and adds_terms and c.score >= best.score - self.selector.margin:
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
        best_passage = f"{best.passage.chunk.heading}\n{best.passage.chunk.text}"
        missing_names = [n for n in asked_names if not contains_term(best_passage, n)]
        evidence = Evidence(
            coverage=sum(weights[t] for t in covered) / total if total else 0.0,
            passage_coverage=sum(weights[t] for t in passage_covered) / total if total else 0.0,
            unseen=sum(weights[t] for t in unseen) / total if total else 0.0,
            type_missing=0.0 if has_answer_type(chosen_text, expected) else 1.0,
            dense=best.dense,
            dense_margin=(best.dense - float(dense.mean())) / spread,
            cross_lingual=float(detect_language(question) != detect_language(chosen_text)),
            countable=float(len(terms)),
            names_missing=len(missing_names) / len(asked_names) if asked_names else 0.0,
            selector=self.selector.probability(best.score),
            reader=max(float(c.features[READER]) for c in candidates),
        )
        ordered = sorted(chosen, key=lambda c: (c.passage.chunk.path, c.start))
        return Selection(evidence, ordered, len(candidates), unseen, expected, candidates, missing_names)

    def _with_qualified(self, chosen: list[_Candidate], candidates: list[_Candidate]) -> list[_Candidate]:
        """A chosen qualifier comes with the statement it qualifies, the sentence before it in its
        passage. With no room left, the lowest-ranked other sentence (not the best one) makes room;
        with none to spare, the two count as one (a qualifier alone would say the opposite)."""
        out = list(chosen)
        for c in chosen:
            if not QUALIFIER.match(c.text.lstrip()):
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
            selection = self.select(question, passages)
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


def _chosen(selection: Selection, support: float, threshold: float) -> tuple[str, ...]:
    lines = [
        f"[{n}] {c.why or 'chosen'}: similarity to the question {c.dense:.2f}, ranked {c.rank} of {selection.candidates} sentences read; "
        + (f"holds {_quoted(sorted(c.covered))}" if c.covered else "holds none of the question's key terms")
        + (f"; the answer reader gives it {c.features[READER]:.2f}" if c.features.size > READER and c.features[READER] else "")
        for n, c in enumerate(selection.chosen, start=1)
    ]
    lines.append(f"answered: the evidence scores {support:.3f} (at least {threshold:.3f} is needed to answer)")
    return tuple(lines)


_KINDS = {"person": "a person", "year": "a year", "duration": "a duration", "number": "a number"}


def _refusal(selection: Selection, support: float, threshold: float) -> tuple[str, ...]:
    e = selection.evidence
    best = min(selection.chosen, key=lambda c: c.rank)
    lines = [f"refused: {_why(e)}"]
    if selection.missing_names:
        lines.append(f"the best passage does not mention {_quoted(selection.missing_names)}, which the question names")
    if e.reader:
        lines.append(f"the answer reader gives no sentence it read more than {e.reader:.2f} of holding the answer")
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
    if evidence.names_missing >= 0.5:
        return "the passages do not mention what the question names"
    if evidence.unseen >= 0.3:
        return "key terms of the question do not occur in the documents"
    if evidence.reader and evidence.reader < 0.3:
        return "no passage sentence reads as an answer to the question"
    if evidence.coverage < 0.5 and evidence.countable:
        return "no passage sentence covers the question's key terms"
    return "no passage sentence supports an answer"
