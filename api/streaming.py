"""Server-sent events for ``/v1/chat/completions`` with ``stream``: checked sentences as they are
released, the sources, and errors after the status line as ``error`` events. The chunks
themselves are built by the OpenAI translation beside it (``api.openai_compat``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse

from api import openai_compat as oa
from api.errors import translate
from rag.errors import GenerationError, RAGError

__all__ = ["SSE_HEADERS", "error_event", "stream_answer", "stream_text"]

log = logging.getLogger("rag.api")


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def stream_text(content: str, model: str) -> StreamingResponse:
    def events() -> Iterator[str]:
        cid = oa.new_id()
        yield oa.chunk(cid, model, {"role": "assistant", "content": content})
        yield oa.chunk(cid, model, {}, finish=True, citations=[], sources=[])
        yield oa.DONE

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


def stream_answer(first: Any, events: Iterator[Any], language: str, model: str, *, public: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Iterator[str]:
    """Checked sentences as they are released (joined without a space in Chinese: ``language``
    is the question's), then the sources (footer, Open WebUI source events, and structured on the
    last chunk), then ``[DONE]``. An error after the stream began is an ``error`` event (the
    status line has been sent), then ``[DONE]``."""
    from itertools import chain

    from rag.service import answer_to_dict

    cid = oa.new_id()
    joiner = "" if language == "zh" else " "
    yield oa.chunk(cid, model, {"role": "assistant", "content": ""})
    try:
        shown = 0
        answer = None
        for event in chain([first] if first is not None else [], events):
            if event.kind == "sentence":
                yield oa.chunk(cid, model, {"content": (joiner if shown else "") + event.text})
                shown += 1
            elif event.kind == "final":
                answer = event.answer
        if answer is None:
            raise GenerationError("the answer stream ended without an answer")
        if not shown or answer.abstained or not answer.sentences:
            # nothing streamed yet, an abstention, or a fallback that answered after the model
            # failed mid-stream: its own whole text, which its citations belong to
            yield oa.chunk(cid, model, {"content": ("\n\n" if shown else "") + answer.text})
        markdown = oa.sources_markdown(answer)
        if markdown:
            yield oa.chunk(cid, model, {"content": markdown})
        sources = oa.openwebui_sources(answer)
        for source in sources:
            yield oa.chunk(cid, model, None, event={"type": "source", "data": source})
        rag = answer_to_dict(answer)
        if public is not None:
            rag = public(rag)  # sources by name, not by their path on the server
        yield oa.chunk(cid, model, {}, finish=True, citations=rag["citations"], sources=sources, rag=rag)
    except RAGError as exc:
        api = translate(exc)
        yield error_event(api.message, api.kind, api.status)
    except Exception as exc:  # noqa: BLE001 - the status line is sent: say so in the stream, never just stop
        log.exception("unexpected error in a streamed answer")
        yield error_event(f"internal error: {type(exc).__name__}", "server_error", 500)
    yield oa.DONE


def error_event(message: str, kind: str, status: int) -> str:
    return f"data: {json.dumps({'error': {'message': message, 'type': kind, 'code': status}}, ensure_ascii=False)}\n\n"
