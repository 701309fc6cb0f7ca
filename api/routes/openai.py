"""The OpenAI-compatible routes: ``/v1/models`` and ``/v1/chat/completions`` (the last user
message answered from the documents; frontends' housekeeping tasks answered at once; with
``stream``, server-sent events from ``api.streaming``)."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api import openai_compat as oa
from api.deps import ERRORS, KEYED, PipelineDep, ScopeDep, chat_request_model
from api.errors import ApiError
from api.schemas import ChatCompletion, ChatCompletionRequest, ErrorResponse, ModelList
from api.streaming import SSE_HEADERS, stream_answer, stream_text
from api.work import run_bounded
from rag.deadline import Deadline
from rag.settings import Settings
from rag.text.language import detect_language

__all__ = ["openai_router"]


def openai_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    ChatRequest = chat_request_model(settings)

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
    async def chat_completions(request: ChatRequest, p: PipelineDep, scope: ScopeDep, http: Request) -> Any:  # type: ignore[valid-type]  # built above, with this server's limits
        body = cast(ChatCompletionRequest, request)
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
        deadline = Deadline(settings.request_timeout)
        # The service checks the question and the history itself (a QuestionError is a 422).
        if body.stream:
            def first_event() -> tuple[Any, Any]:
                events = p.service(scope.read).stream(question, history=history, deadline=deadline)
                # The first event before the status line: a bad question (422) or a model that is
                # down (502) is an error response, not a 200 stream.
                return next(events, None), events

            first, events = await run_bounded(http, deadline, first_event)
            names = p.names(scope.read)
            return StreamingResponse(stream_answer(first, events, detect_language(question), model, public=names.public),
                                     media_type="text/event-stream", headers=SSE_HEADERS)

        def work() -> dict[str, Any]:
            from rag.service import answer_to_dict

            answer = p.service(scope.read).ask(question, history=history, deadline=deadline)
            rag = p.names(scope.read).public(answer_to_dict(answer))
            return oa.completion(answer.text + oa.sources_markdown(answer), model, citations=rag["citations"], sources=oa.openwebui_sources(answer), rag=rag)

        return await run_bounded(http, deadline, work)

    return router
