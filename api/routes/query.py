"""The question route: ``POST /v1/query``, an answer from the documents with its citations (and,
on request, the ranked passages), under this server's limits."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures, and the request
# model (built from the settings, with their limits) is a local name.
from dataclasses import replace
from typing import Any, cast

from fastapi import APIRouter, Request

from api.deps import ERRORS, KEYED, PipelineDep, ScopeDep, check_top_k, query_request_model, readable
from api.schemas import ErrorResponse, QueryRequest, QueryResponse
from api.work import run_bounded
from rag.deadline import Deadline
from rag.settings import Settings

__all__ = ["query_router"]


def query_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    Query = query_request_model(settings)

    @router.post("/v1/query", response_model=QueryResponse, response_model_exclude_none=True, tags=["questions"],
                 summary="Answer a question from the documents, with citations", dependencies=KEYED, responses=ERRORS | {502: {"model": ErrorResponse}})
    async def query(request: Query, p: PipelineDep, scope: ScopeDep, http: Request) -> dict[str, Any]:  # type: ignore[valid-type]  # a model built above, with this server's limits
        from rag.service import answer_to_dict

        body = cast(QueryRequest, request)
        check_top_k(body.top_k, settings)
        read = readable(scope, body.collections)
        deadline = Deadline(settings.request_timeout)

        def work() -> dict[str, Any]:
            service = p.service(read)
            names = p.names(read)
            history = [(t.role, t.content) for t in body.history]
            answer, ranking = service.ask_ranked(body.question, top_k=body.top_k, sources=names.resolve(body.sources), history=history, deadline=deadline)
            if body.passages:
                answer = replace(answer, passages=tuple(ranking))
            return names.public(answer_to_dict(answer, passages=body.passages, explain=body.explain))

        return await run_bounded(http, deadline, work)

    return router
