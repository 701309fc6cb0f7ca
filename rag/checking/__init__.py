"""Faithfulness: is each statement of an answer supported by the passages it rests on?

The evaluation harness scores answers with it, and the LLM generator checks every sentence
with it before releasing it, so both use the same code. Steps, each visible in the result:

1. **Claims**: the answer split into sentences (``rag.checking.statements.split_statements`` over
   ``rag.text.sentences``, Chinese and English), citation markers ``[n]`` taken out of the text and
   kept as the statement's citations; then (``rag.checking.claims.extract_claims``) sentences that
   make no claim skipped and reported (meta-sentences such as "Here is a concise summary:" or
   "以下是要点：", questions, headings), framing leads such as "根据文档，" cut off, and a
   question the statement carries ("Who acquired Instagram: Facebook.") kept to be discounted.
2. **Support**, per statement, by a :class:`Judge`. The offline :class:`LexicalJudge` needs no
   language model: it finds the window of one or two consecutive passage sentences that holds
   most of the statement's content terms (``rag.text.terms``), then weighs

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

Modules: :mod:`~rag.checking.statements` (step 1), :mod:`~rag.checking.judges` (the offline
judge, step 2), :mod:`~rag.checking.policy` (its fitted weights), :mod:`~rag.checking.checker`
(steps 1-3 together) and :mod:`~rag.checking.judge_prompt` (the LLM judge's prompt; the judge
itself talks to a model, so it lives at the LangChain edge, ``rag.langchain_adapters``).
"""

from __future__ import annotations

from rag.checking.checker import FaithfulnessChecker, check_answer
from rag.checking.claims import Claims, extract_claims
from rag.checking.judge_prompt import JUDGE_INSTRUCTIONS, judge_messages, parse_judgement
from rag.checking.judges import LexicalJudge
from rag.checking.policy import DEFAULT_SUPPORT_POLICY, FEATURES, SIMILARITY_SUPPORT_POLICY, SupportPolicy
from rag.checking.statements import MARKER_RE, split_statements
from rag.domain import FaithfulnessResult, SkippedText, Statement, StatementVerdict, SupportEvidence
from rag.protocols import Judge

__all__ = [
    "DEFAULT_SUPPORT_POLICY",
    "FEATURES",
    "JUDGE_INSTRUCTIONS",
    "MARKER_RE",
    "SIMILARITY_SUPPORT_POLICY",
    "Claims",
    "FaithfulnessChecker",
    "FaithfulnessResult",
    "Judge",
    "LexicalJudge",
    "SkippedText",
    "Statement",
    "StatementVerdict",
    "SupportEvidence",
    "SupportPolicy",
    "check_answer",
    "extract_claims",
    "judge_messages",
    "parse_judgement",
    "split_statements",
]
