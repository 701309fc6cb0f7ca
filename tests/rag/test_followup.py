"""Follow-up questions: the documented rule-based rewrite and the model's rewrite (scripted)."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.followup import RuleBasedRewriter, clean_rewrite, rewrite_messages
from rag.langchain_adapters import ChatModelGenerator

HISTORY = [("user", "提现需要多久?"), ("assistant", "提现一般需要1个工作日。[1]")]


def test_rules_carry_the_previous_questions_key_terms_into_a_follow_up() -> None:
    rules = RuleBasedRewriter()
    assert rules.rewrite("那大额的呢?", HISTORY) == "那大额的呢? 提现"
    assert rules.rewrite("How long does it take?", [("user", "How do I withdraw bitcoin?")]) == "How long does it take? withdraw bitcoin"


def test_rules_leave_new_topics_and_first_questions_alone() -> None:
    rules = RuleBasedRewriter()
    assert rules.rewrite("客服可以解答哪些常见的技术问题?", HISTORY) == "客服可以解答哪些常见的技术问题?"
    assert rules.rewrite("那大额的呢?", []) == "那大额的呢?"


def test_the_model_rewrites_with_the_conversation_and_its_reply_is_cleaned() -> None:
    (_, system), (_, user) = rewrite_messages("那大额的呢?", HISTORY)
    assert "standalone" not in system or "Rewrite" in system
    assert "User: 提现需要多久?" in user and user.endswith("Last question: 那大额的呢?")
    model = GenericFakeChatModel(messages=iter([AIMessage("问题：大额提现需要多久？\n(解释)")]))
    generator = ChatModelGenerator(model, backend="scripted")  # type: ignore[arg-type]
    assert generator.rewrite("那大额的呢?", HISTORY) == "大额提现需要多久？"
    assert clean_rewrite("", "原问题?") == "原问题?"  # an empty reply keeps the question
    assert clean_rewrite("x" * 1000, "短?") == "短?"  # so does an essay
