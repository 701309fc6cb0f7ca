"""Translation between OpenAI's chat completion protocol and our answers.

Citations reach every kind of frontend three ways:

- in the text: the ``[n]`` markers, and a markdown "Sources" list at the end of the content;
- structured: ``citations`` (ours) and ``sources`` (Open WebUI's source objects) on the response,
  and on the last chunk of a stream;
- as Open WebUI source events: in a stream, one chunk ``{"event": {"type": "source", "data":
  ...}}`` per citation, which Open WebUI's middleware hands to its event emitter (it stores them
  on the message and renders them under it, with ``[n]`` linking to the n-th source).

Open WebUI (and LibreChat) also send housekeeping requests through the same endpoint: a title
for the chat, tags, follow-up suggestions, search queries, autocompletion. They are recognised by
their prompts (Open WebUI's begin ``### Task:``; its task marker is not forwarded to an OpenAI
connection) and answered at once, without retrieval, in the JSON shape each one asks for.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.domain import Answer, Citation

__all__ = [
    "MODEL_ID",
    "housekeeping_reply",
    "split_messages",
    "sources_markdown",
    "openwebui_sources",
    "completion",
    "chunk",
]

MODEL_ID = "rag-cite"

_SOURCES_HEADING = {"zh": "来源", "en": "Sources"}
_UNSUPPORTED_HEADING = {"zh": "未得到来源支持(请核实)", "en": "Not supported by the sources (check before trusting)"}
# Our footer, cut from earlier answers when they come back as history.
_FOOTER = re.compile(r"\n\n\*\*(?:Sources|来源|Not supported by the sources|未得到来源支持)[\s\S]*$")


def message_text(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a message: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text")


def split_messages(messages: Sequence[Any]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message (the question) and the earlier user/assistant turns (the history;
    our own sources list is cut from earlier answers). System messages are not used: the
    pipeline's prompt is fixed so that its citations can be checked."""
    if not messages or messages[-1].role != "user":
        raise ValueError("the last message must be the user's question (role 'user')")
    question = message_text(messages[-1].content)
    history: list[tuple[str, str]] = []
    for message in messages[:-1]:
        if message.role in ("user", "assistant"):
            text = _FOOTER.sub("", message_text(message.content)).strip()
            if text:
                history.append((message.role, text))
    return question, history


# -- housekeeping ---------------------------------------------------------------------------

_TASKS: tuple[tuple[str, str], ...] = (
    ('"follow_ups"', "follow_ups"),
    ('"tags"', "tags"),
    ('"queries"', "queries"),
    ('"title"', "title"),
    ("autocompletion", "autocomplete"),
    ('"prompt"', "image_prompt"),
)
_LIBRECHAT_TITLE = re.compile(r"(?:5[- ]words?[- ]or[- ]less|5 Words or Less)[^\n]*title|title[^\n]*(?:5[- ]words?[- ]or[- ]less|5 Words or Less)", re.I)
_FIRST_USER = re.compile(r"^\s*USER:\s*(.+)$", re.M)


def _first_user_line(text: str) -> str:
    history = text.split("<chat_history>", 1)[-1]
    match = _FIRST_USER.search(history)
    line = match.group(1) if match else ""
    return re.sub(r"\s+", " ", line).strip()


def _title(text: str) -> str:
    line = _first_user_line(text) or "Question"
    line = line.rstrip("?？!！。. ")
    return line if len(line) <= 40 else line[:39].rstrip() + "…"


def housekeeping_reply(messages: Sequence[Any]) -> tuple[str, str] | None:
    """(task, reply) when the request is a frontend's housekeeping task, else ``None``."""
    if not messages or messages[-1].role != "user":
        return None
    text = message_text(messages[-1].content)
    head = text.lstrip()[:400]
    if head.startswith("### Task:"):
        task = next((name for key, name in _TASKS if key in text), "other")
        if task == "title":
            return task, json.dumps({"title": _title(text)}, ensure_ascii=False)
        if task == "tags":
            return task, json.dumps({"tags": []})
        if task == "follow_ups":
            return task, json.dumps({"follow_ups": []})
        if task == "queries":
            # No web search or extra retrieval queries: our own retrieval runs on the question.
            return task, json.dumps({"queries": []})
        if task == "autocomplete":
            return task, json.dumps({"text": ""})
        if task == "image_prompt":
            return task, json.dumps({"prompt": ""})
        return task, "{}"
    if "facial expression" in head and "emoji" in head:
        return "emoji", "🙂"
    if _LIBRECHAT_TITLE.search(head):
        conversation = text.split("Conversation:", 1)[-1]
        user = re.search(r"(?:User|Human|USER)[:：]\s*(.+)", conversation)
        title = (user.group(1) if user else "Question").strip().rstrip("?？!！。. ")
        return "title", title[:40]
    return None


# -- answers as completions -------------------------------------------------------------------


def _name(citation: Citation) -> str:
    return Path(citation.source).name or citation.source


def _quote(text: str, limit: int = 80) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sources_markdown(answer: Answer) -> str:
    """The footer appended to the content: which sentences the checker could not verify (a
    language model's answer with flagged sentences), then the sources as an ordered list
    ``n. name:start-end “quote”`` numbered like the markers (not ``[n]`` again: Open WebUI would
    turn those into chips too)."""
    if answer.abstained or not answer.citations:
        return ""
    parts = []
    flagged = [(n, s) for n, s in enumerate(answer.sentences, start=1) if not s.supported]
    if flagged:
        heading = _UNSUPPORTED_HEADING.get(answer.language, _UNSUPPORTED_HEADING["en"])
        which = ("; ".join(f"第{n}句 “{_quote(s.text, 60)}”" for n, s in flagged) if answer.language == "zh"
                 else "; ".join(f"sentence {n} “{_quote(s.text, 60)}”" for n, s in flagged))
        parts.append(f"**{heading}:** {which}")
    heading = _SOURCES_HEADING.get(answer.language, "Sources")
    lines = [f"{c.marker}. {_name(c)}:{c.start}-{c.end} “{_quote(c.text)}”" for c in sorted(answer.citations, key=lambda c: c.marker)]
    parts.append(f"**{heading}:**\n" + "\n".join(lines))
    return "\n\n" + "\n\n".join(parts)


def openwebui_sources(answer: Answer) -> list[dict[str, Any]]:
    """One Open WebUI source object per citation, in marker order (Open WebUI numbers the sources
    it groups by ``metadata[].source``: a key per citation keeps ``[n]`` pointing at the n-th).
    No ``distances``: our fused scores are not on the 0-1 scale Open WebUI shows as relevance."""
    sources = []
    for c in sorted(answer.citations, key=lambda c: c.marker):
        name = f"{_name(c)} [{c.marker}]"
        sources.append(
            {
                "source": {"id": f"{c.source_id}:{c.start}-{c.end}", "name": name},
                "document": [c.text],
                "metadata": [
                    {"source": f"{c.source_id}:{c.start}-{c.end}", "name": name, "source_id": c.source_id, "start": c.start, "end": c.end, **({"page": c.page} if c.page else {})}
                ],
            }
        )
    return sources


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(content: str, model: str, *, citations: list[dict[str, Any]], sources: list[dict[str, Any]], rag: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "citations": citations,
        "sources": sources,
        "rag": rag,
    }


def chunk(completion_id: str, model: str, delta: dict[str, Any] | None, *, finish: bool = False, **extra: Any) -> str:
    """One server-sent event of a streamed completion. ``delta=None`` sends an empty ``choices``
    list (the shape of OpenAI's usage chunk), which clients skip."""
    body: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    body["choices"] = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": "stop" if finish else None}]
    body.update(extra)
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


DONE = "data: [DONE]\n\n"
