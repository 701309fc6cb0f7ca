"""Follow-up questions: rewritten into standalone ones before retrieval.

"那大额的呢?" or "How long does it take?" means nothing to a retriever without the turn before
it. With a language model configured, the model rewrites the follow-up into a standalone
question (``rag.langchain_adapters.ChatModelGenerator.rewrite``). Without one, the
:class:`RuleBasedRewriter` applies a documented rule:

- a question that refers back (它/这/那/其/该/上述/…呢, it/this/that/they/them/there/what about/
  and/also/how about) or has fewer than two content terms of its own is a follow-up;
- a follow-up gets the content terms of the previous user question that it lacks appended
  (in their order), so "那大额的呢?" after "提现需要多久?" becomes "那大额的呢? 提现";
- anything else is left as it is, so a new topic is not polluted by the old one.

Either way the standalone question is shown to the user with the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.protocols import QuestionRewriter, Turn
from rag.text.terms import contains_term, question_terms

__all__ = ["REWRITE_INSTRUCTIONS", "QuestionRewriter", "RuleBasedRewriter", "Turn", "clean_rewrite", "rewrite_messages"]


_REFERS_BACK = re.compile(
    r"^(那|那么|还有|另外|并且|而且|其|该|此|这|它|他们|她们|它们|上述|以上)|[它这那其该此]|呢[?？]?\s*$|"
    r"\b(it|its|this|that|these|those|they|them|their|there|he|she|his|her)\b|^\s*(and|also|what about|how about|and what|so)\b",
    re.IGNORECASE,
)


REWRITE_INSTRUCTIONS = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace pronouns and references with what they mean. Keep the question's language. "
    "Reply with the rewritten question only, nothing else."
)


def rewrite_messages(question: str, history: Sequence[Turn], max_turns: int = 6) -> list[tuple[str, str]]:
    """(role, content) pairs asking a chat model for the standalone question."""
    lines = [f"{'User' if role == 'user' else 'Assistant'}: {text}" for role, text in history[-max_turns:]]
    return [("system", REWRITE_INSTRUCTIONS), ("user", "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}")]


def clean_rewrite(reply: str, question: str) -> str:
    """The model's rewrite, or the question itself when the reply is empty or not a question-sized line."""
    line = next((x.strip() for x in reply.strip().splitlines() if x.strip()), "")
    line = re.sub(r"^(rewritten question|standalone question|question|问题)\s*[:：]\s*", "", line, flags=re.IGNORECASE).strip("\"'“”「」 ")
    if not line or len(line) > max(200, 4 * len(question)):
        return question
    return line


class RuleBasedRewriter:
    """The rule of the module docstring: carry the previous question's key terms into a follow-up."""

    name = "rules"

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        previous = next((text for role, text in reversed(history) if role == "user"), None)
        if previous is None:
            return question
        own = question_terms(question)
        if len(own) >= 2 and not _REFERS_BACK.search(question):
            return question
        carried = [t for t in question_terms(previous) if not contains_term(question, t)]
        if not carried:
            return question
        return f"{question.rstrip()} {' '.join(carried)}"
