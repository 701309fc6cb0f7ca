"""Fast unit tests of the OpenAI-protocol translation: housekeeping prompts, history, and the
source shapes frontends render."""

from __future__ import annotations

import json

import pytest

from api.openai_compat import housekeeping_reply, openwebui_sources, sources_markdown, split_messages
from api.schemas import ChatMessage
from rag.domain import Answer, Citation


def msgs(*pairs: tuple[str, object]) -> list[ChatMessage]:
    return [ChatMessage(role=r, content=c) for r, c in pairs]  # type: ignore[arg-type]


# The first lines of Open WebUI's task templates (backend/open_webui/config.py, DEFAULT_*_PROMPT_TEMPLATE)
# and LibreChat's title prompt, with a chat history in the form Open WebUI renders it.
HISTORY = "<chat_history>\nUSER: How long do withdrawals take?\nASSISTANT: One business day. [1]\n</chat_history>"
OPEN_WEBUI = {
    "title": "### Task:\nGenerate a concise title summarizing the chat history.\n### Output:\nJSON format: { \"title\": \"your concise title here\" }\n" + HISTORY,
    "tags": "### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, along with 1-3 more specific subtopic tags.\n"
            "### Output:\nJSON format: { \"tags\": [\"tag1\", \"tag2\", \"tag3\"] }\n" + HISTORY,
    "follow_ups": "### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next\n"
                  "### Output:\nJSON format: { \"follow_ups\": [\"Question 1?\", \"Question 2?\"] }\n" + HISTORY,
    "queries": "### Task:\nAnalyze the chat history to determine the necessity of generating search queries, in the given language.\n"
               "### Output:\nStrictly return in JSON format: { \"queries\": [\"query1\", \"query2\"] }\n" + HISTORY,
    "autocomplete": "### Task:\nYou are an autocompletion system. Continue the text in `<text>` based on the **completion type**\n"
                    "### Output Rules:\n- Output in JSON format: { \"text\": \"<your_completion>\" }\n<type>search query</type>\n<text>how do I</text>\n#### Output:\n",
}


@pytest.mark.parametrize("task", sorted(OPEN_WEBUI))
def test_open_webui_tasks_are_recognised_and_answered_in_their_json(task: str) -> None:
    found = housekeeping_reply(msgs(("user", OPEN_WEBUI[task])))
    assert found is not None and found[0] == task
    reply = json.loads(found[1])
    expected = {"title": "title", "tags": "tags", "follow_ups": "follow_ups", "queries": "queries", "autocomplete": "text"}[task]
    assert list(reply) == [expected]
    if task == "title":
        assert reply["title"] == "How long do withdrawals take"


def test_librechat_title_and_ordinary_questions() -> None:
    librechat = "Provide a concise, 5-word-or-less title for the conversation, using title case conventions. Only return the title itself.\n\nConversation:\nUser: 提现需要多久?\nAI: 一个工作日。"
    assert housekeeping_reply(msgs(("user", librechat))) == ("title", "提现需要多久")
    for question in ("What is the title of the withdrawal FAQ?", "### 提现需要多久?", "Give me tags for my account"):
        assert housekeeping_reply(msgs(("user", question))) is None


def test_split_messages_takes_the_last_user_turn_and_cleans_history() -> None:
    answer_with_sources = "One business day. [1]\n\n**Sources:**\n1. faq.txt:10-40 “Withdrawals take one business day.”"
    question, history = split_messages(msgs(
        ("system", "be nice"), ("user", "How long do withdrawals take?"), ("assistant", answer_with_sources),
        ("user", [{"type": "text", "text": "And deposits?"}, {"type": "image_url", "image_url": {"url": "x"}}]),
    ))
    assert question == "And deposits?"
    assert history == [("user", "How long do withdrawals take?"), ("assistant", "One business day. [1]")]
    with pytest.raises(ValueError, match="last message"):
        split_messages(msgs(("user", "q"), ("assistant", "a")))


ANSWER = Answer(
    question="提现需要多久?", text="一般一个工作日到账。[1]再次提现要等待。[2]", abstained=False, language="zh", generator="extractive", support=0.9,
    citations=(
        Citation(1, "/data/faq.txt", "abc", 10, 20, "一般一个工作日到账。", 0.8),
        Citation(2, "/data/faq.txt", "abc", 30, 38, "再次提现要等待。", 0.6, page=3),
    ),
)


def test_sources_markdown_numbers_every_citation() -> None:
    md = sources_markdown(ANSWER)
    assert md.startswith("\n\n**来源:**\n")
    assert "\n1. faq.txt:10-20 “一般一个工作日到账。”\n2. faq.txt:30-38" in md
    assert md.count("[") == 0  # no second set of markers for frontends to turn into links
    refused = Answer("q", "文档中没有找到答案。", True, (), "zh", "extractive", 0.0, reason="r")
    assert sources_markdown(refused) == ""


def test_open_webui_source_objects_follow_its_documented_shape() -> None:
    """Open WebUI's events page: {"type": "source", "data": {"source": {"name", "id"}, "document": [...],
    "metadata": [{"source", "name", ...}]}}, document and metadata parallel lists; Citations.svelte groups
    by metadata.source and numbers the groups, so [n] must be the n-th group."""
    sources = openwebui_sources(ANSWER)
    assert len(sources) == 2
    for n, source in enumerate(sources, start=1):
        assert set(source) == {"source", "document", "metadata"}
        assert set(source["source"]) >= {"id", "name"} and isinstance(source["source"]["name"], str)
        assert isinstance(source["document"], list) and isinstance(source["metadata"], list)
        assert len(source["document"]) == len(source["metadata"]) == 1
        assert source["metadata"][0]["source"] and source["metadata"][0]["name"].endswith(f"[{n}]")
    assert [s["document"][0] for s in sources] == [c.text for c in ANSWER.citations]
    keys = [s["metadata"][0]["source"] for s in sources]
    assert len(set(keys)) == len(keys)  # one group per citation: [1] and [2] stay distinct in the same file
    assert sources[1]["metadata"][0]["page"] == 3


def test_flagged_sentences_are_named_in_the_footer_and_the_footer_is_cut_from_history() -> None:
    from dataclasses import replace

    from rag.domain import AnswerSentence

    flagged = replace(ANSWER, sentences=(
        AnswerSentence("一般一个工作日到账。", (1,), True, 0.9, "quoted"),
        AnswerSentence("再次提现要等待。", (2,), False, 0.2, "no overlap"),
    ))
    md = sources_markdown(flagged)
    assert md.startswith("\n\n**未得到来源支持(请核实):** 第2句 “再次提现要等待。”\n\n**来源:**\n1. faq.txt")
    english = sources_markdown(replace(flagged, language="en"))
    assert "**Not supported by the sources (check before trusting):** sentence 2" in english
    _, history = split_messages(msgs(("user", "q"), ("assistant", flagged.text + md), ("user", "again")))
    assert history[1] == ("assistant", flagged.text)
