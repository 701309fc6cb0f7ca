"""Follow-up questions: the documented rule-based rewrite and the model's rewrite (scripted)."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.followup import REWRITE_INSTRUCTIONS, RuleBasedRewriter, clean_rewrite, rewrite_messages
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


def test_rewrite_messages_ask_for_the_last_question_alone_with_the_conversation() -> None:
    messages = rewrite_messages("那大额的呢?", HISTORY)
    assert [role for role, _ in messages] == ["system", "user"]
    (_, system), (_, user) = messages
    assert system == REWRITE_INSTRUCTIONS
    assert "Rewrite the user's last question" in system
    assert "Keep the question's language" in system
    assert "Reply with the rewritten question only" in system
    assert user == "Conversation:\nUser: 提现需要多久?\nAssistant: 提现一般需要1个工作日。[1]\n\nLast question: 那大额的呢?"


def test_rewrite_messages_keep_only_the_last_max_turns_of_the_history() -> None:
    history = [("user", f"question {n}?") if n % 2 else ("assistant", f"answer {n}.") for n in range(1, 9)]
    (_, user) = rewrite_messages("and then?", history, max_turns=3)[1]
    assert user.splitlines()[1:4] == ["Assistant: answer 6.", "User: question 7?", "Assistant: answer 8."]
    assert "question 5?" not in user and "question 1?" not in user
    assert user.endswith("\n\nLast question: and then?")
    (_, default) = rewrite_messages("and then?", history)[1]  # 6 by default
    assert "answer 2." not in default and "User: question 3?" in default


def test_the_model_rewrites_with_the_conversation_and_its_reply_is_cleaned() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("问题：大额提现需要多久？\n(解释)")]))
    generator = ChatModelGenerator(model, backend="scripted")
    assert generator.rewrite("那大额的呢?", HISTORY) == "大额提现需要多久？"
    assert clean_rewrite("", "原问题?") == "原问题?"  # an empty reply keeps the question
    assert clean_rewrite("x" * 1000, "短?") == "短?"  # so does an essay
