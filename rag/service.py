"""The question-answering service: validates a question, retrieves, answers, and says why not.

A thin composition of the parts (retriever, generator) over one committed index version,
shared by the CLI and the HTTP API (both get it from the factory in ``rag.cli.factory``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from rag.answering import ExtractiveGenerator, abstention
from rag.answering.generation import AnswerEvent
from rag.deadline import Deadline
from rag.domain import Answer, Passage
from rag.errors import GenerationError, QuestionError
from rag.followup import QuestionRewriter, RuleBasedRewriter, Turn
from rag.protocols import Embedder, Generator, IndexView, StreamingGenerator
from rag.retrieval import HybridRetriever, Retriever
from rag.text.language import detect_language, script_of
from rag.text.script import in_index_script

__all__ = ["QAService", "QuestionError", "answer_to_dict"]  # QuestionError: re-exported from rag.errors


class QAService:
    """Answers questions from one index snapshot."""

    def __init__(
        self,
        snapshot: IndexView,
        embedder: Embedder,
        *,
        retriever: Retriever | None = None,
        generator: Generator | None = None,
        fallback: Generator | None = None,
        rewriter: QuestionRewriter | None = None,
        top_k: int = 5,
        max_question_chars: int = 2000,
        max_turn_chars: int = 8000,
        max_history_chars: int = 32000,
        max_history_turns: int = 50,
    ) -> None:
        if top_k <= 0:
            raise ValueError(f"top_k must be positive, got {top_k}")
        for name, value in (("max_question_chars", max_question_chars), ("max_turn_chars", max_turn_chars),
                            ("max_history_chars", max_history_chars), ("max_history_turns", max_history_turns)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        self.snapshot = snapshot
        self.retriever = retriever or HybridRetriever.over(snapshot, embedder)
        self.generator: Generator = generator or ExtractiveGenerator(embedder, snapshot)
        self.fallback = fallback
        self.rewriter: QuestionRewriter = rewriter or RuleBasedRewriter()
        self.top_k = top_k
        self.max_question_chars = max_question_chars
        self.max_turn_chars = max_turn_chars
        self.max_history_chars = max_history_chars
        self.max_history_turns = max_history_turns

    def check_question(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise QuestionError("the question is empty")
        if len(question) > self.max_question_chars:
            raise QuestionError(
                f"the question is {len(question):,} characters long, over the limit of "
                f"{self.max_question_chars:,} (setting max_question_chars)"
            )
        return question

    def check_history(self, history: Sequence[Turn]) -> None:
        """Refuse (:class:`QuestionError`) a history over its limits: turns, a turn's length, the total."""
        if len(history) > self.max_history_turns:
            raise QuestionError(f"the history has {len(history):,} turns, over the limit of {self.max_history_turns:,} (setting max_history_turns)")
        total = 0
        for n, (_role, text) in enumerate(history, start=1):
            if len(text) > self.max_turn_chars:
                raise QuestionError(
                    f"turn {n} of the history is {len(text):,} characters long, over the limit of {self.max_turn_chars:,} (setting max_turn_chars)"
                )
            total += len(text)
        if total > self.max_history_chars:
            raise QuestionError(f"the history is {total:,} characters long, over the limit of {self.max_history_chars:,} (setting max_history_chars)")

    def _foreign_script(self, question: str) -> str | None:
        """The script of a question written in neither Chinese nor a Latin script (which e5 and the
        keyword index cover), when the documents do not use it either."""
        letters = [ch for ch in question if ch.isalpha()]
        if not letters or detect_language(question) != "other":
            return None
        scripts: dict[str, int] = {}
        for ch in letters:
            scripts[script_of(ch)] = scripts.get(script_of(ch), 0) + 1
        main = max(scripts, key=lambda s: scripts[s])
        sample = [ch for ch in question if ch.isalpha() and script_of(ch) == main][:1]
        if sample and self.snapshot.document_frequency(sample[0].lower()) > 0:
            return None
        return main

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
        history: Sequence[Turn] = (),
        deadline: Deadline | None = None,
    ) -> Answer:
        """The answer to ``question``; with a ``history`` of (role, text) turns, a follow-up is first
        rewritten into a standalone question (``Answer.standalone``), which is what is retrieved.
        Past ``deadline`` the work stops at its next stage (:class:`rag.deadline.Deadline`)."""
        return self.ask_ranked(question, top_k=top_k, sources=sources, history=history, deadline=deadline)[0]

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """The follow-up rewritten by the rewriter (the model when there is one; rules otherwise),
        bounded like a question: a rewrite over max_question_chars is cut at the last word that fits."""
        if not history:
            return question
        try:
            rewritten = self.rewriter.rewrite(question, history)
        except GenerationError:
            if self.fallback is None:
                raise
            rewritten = RuleBasedRewriter().rewrite(question, history)
        if len(rewritten) > self.max_question_chars:
            cut = rewritten[: self.max_question_chars]
            rewritten = cut[: cut.rfind(" ")] if " " in cut[len(question) :] else cut
        return rewritten.strip() or question

    def ask_ranked(
        self,
        question: str,
        *,
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
        depth: int = 0,
        history: Sequence[Turn] = (),
        deadline: Deadline | None = None,
    ) -> tuple[Answer, list[Passage]]:
        """The answer and the ranking it came from: ``max(depth, top_k)`` passages are retrieved
        and the answer is drawn from the first ``top_k`` (evaluation scores retrieval deeper than
        the answer reads). The ranking is empty when the question is refused before retrieval."""
        question = self.check_question(question)
        self.check_history(history)
        k = top_k or self.top_k
        if k <= 0:
            raise QuestionError(f"top_k must be positive, got {k}")
        deadline = deadline or Deadline()
        language = detect_language(question)
        if self.snapshot.n_chunks == 0:
            return _abstained(question, language, "the index holds no documents"), []
        script = self._foreign_script(question)
        if script is not None:
            return _abstained(question, language, f"the question is written in {script} script, which the documents do not use"), []
        asked, ranking = self._retrieve(question, history, max(k, depth), sources, deadline)
        answer = self._generate(asked, ranking[:k])
        if asked != question:
            answer = replace(answer, question=question, standalone=asked)
        return answer, ranking

    def _retrieve(
        self, question: str, history: Sequence[Turn], k: int, sources: Sequence[str] | None, deadline: Deadline
    ) -> tuple[str, list[Passage]]:
        """The question as searched for (a follow-up made standalone, in the index's Chinese script)
        and its ``k`` passages, the deadline checked before each stage and before answering."""
        if history:
            deadline.check("rewriting the follow-up")
        # A question in Traditional characters meets a Simplified corpus in its script, and the
        # reverse (the answer shows what was searched for, as for a rewritten follow-up).
        asked = in_index_script(self.standalone(question, history), self.snapshot.document_frequency)
        deadline.check("retrieval")
        passages = self.retriever.retrieve(asked, k, sources)
        deadline.check("answering")
        return asked, passages

    def _generate(self, question: str, passages: list[Passage]) -> Answer:
        try:
            return self.generator.generate(question, passages)
        except GenerationError as exc:
            if self.fallback is None:
                raise
            answer = self.fallback.generate(question, passages)
            return replace(answer, notes=(*answer.notes, f"{exc}; answered by {self.fallback.name} instead"))

    def stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
        history: Sequence[Turn] = (),
        deadline: Deadline | None = None,
    ) -> Iterator[AnswerEvent]:
        """Checked sentences as the generator releases them, then the final answer. A generator
        that cannot stream (the extractive one) gives its answer as one final event. The deadline
        is checked between stages and between released sentences."""
        question = self.check_question(question)
        self.check_history(history)
        k = top_k or self.top_k
        deadline = deadline or Deadline()
        language = detect_language(question)
        if self.snapshot.n_chunks == 0:
            answer = _abstained(question, language, "the index holds no documents")
            yield AnswerEvent("final", answer.text, answer=answer)
            return
        asked, passages = self._retrieve(question, history, k, sources, deadline)
        if not isinstance(self.generator, StreamingGenerator):
            answer = self._generate(asked, passages)
            if asked != question:
                answer = replace(answer, question=question, standalone=asked)
            yield AnswerEvent("final", answer.text, answer=answer)
            return
        try:
            for event in self.generator.stream(asked, passages):
                deadline.check("the next sentence")
                if event.kind == "final" and event.answer is not None and asked != question:
                    event = replace(event, answer=replace(event.answer, question=question, standalone=asked))
                yield event
        except GenerationError as exc:
            if self.fallback is None:
                raise
            answer = self.fallback.generate(asked, passages)
            if asked != question:
                answer = replace(answer, question=question, standalone=asked)
            answer = replace(answer, notes=(*answer.notes, f"{exc}; answered by {self.fallback.name} instead"))
            yield AnswerEvent("final", answer.text, answer=answer)


def _abstained(question: str, language: str, reason: str) -> Answer:
    return abstention(question, language, "extractive", reason)


def answer_to_dict(answer: Answer, *, passages: bool = False, explain: bool = False) -> dict[str, Any]:
    """The JSON shape of ``rag ask --json`` (and of the API): :meth:`rag.domain.Answer.to_dict`."""
    return answer.to_dict(passages=passages, explain=explain)
