"""The OpenAI-compatible routes: ``/v1/models`` and ``/v1/chat/completions`` (the last user
message answered from the documents; frontends' housekeeping tasks answered at once; with
``stream``, server-sent events from ``api.streaming``)."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api import openai_compat as oa
from api.deps import ERRORS, KEYED, PipelineDep
from api.errors import ApiError
from api.schemas import ChatCompletion, ChatCompletionRequest, ErrorResponse, ModelList
from api.streaming import SSE_HEADERS, stream_answer, stream_text
from rag.text.language import detect_language

__all__ = ["openai_router"]


def openai_router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/models", response_model=ModelList, tags=["openai"], summary="The model this server offers", dependencies=KEYED, responses=ERRORS)
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": oa.MODEL_ID, "object": "model", "created": 0, "owned_by": "rag-cite"}]}

    @router.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        tags=["openai"],
        summary="OpenAI-compatible chat: the last user message is answered from the documents",
        dependencies=KEYED,
        responses=ERRORS | {400: {"model": ErrorResponse}, 502: {"model": ErrorResponse},
                            200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "With stream: server-sent events, ending with data: [DONE]"}},
    )
    def chat_completions(body: ChatCompletionRequest, p: PipelineDep) -> Any:
        model = body.model or oa.MODEL_ID
        chore = oa.housekeeping_reply(body.messages)
        if chore is not None:
            _task, content = chore
            if body.stream:
                return stream_text(content, model)
            return oa.completion(content, model, citations=[], sources=[], rag=None)
        try:
            question, history = oa.split_messages(body.messages)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        service = p.service()
        # The service checks the question itself (QAService.stream and .ask: a QuestionError is a 422).
        if body.stream:
            events = service.stream(question, history=history)
            # The first event before the status line: a bad question (422) or a model that is down
            # (502) is an error response, not a 200 stream.
            first = next(events, None)
            return StreamingResponse(stream_answer(first, events, detect_language(question), model), media_type="text/event-stream", headers=SSE_HEADERS)
        from rag.service import answer_to_dict

        answer = service.ask(question, history=history)
        rag = answer_to_dict(answer)
        return oa.completion(answer.text + oa.sources_markdown(answer), model, citations=rag["citations"], sources=oa.openwebui_sources(answer), rag=rag)

    return router
