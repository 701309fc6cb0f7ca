"""What the routes depend on: the loaded pipeline (``get_pipeline``, ``PipelineDep``), the bearer
key declaration (``KEYED``; KeyCheck checks the key, this states it in the OpenAPI schema), the
error responses keyed routes declare, and the request models built from the settings, so that
``/openapi.json`` states this server's limits."""

# No ``from __future__ import annotations``: FastAPI reads the annotations of these dependencies.
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from pydantic import Field, create_model, field_validator

from api.errors import ApiError
from api.middleware import SCOPE_KEY
from api.schemas import ChatCompletionRequest, ChatMessage, ErrorResponse, QueryRequest, Turn
from api.state import Pipeline
from rag.access import Scope
from rag.domain import check_collection
from rag.settings import Settings

__all__ = ["ERRORS", "KEYED", "PipelineDep", "ScopeDep", "bearer", "chat_request_model", "check_top_k", "get_pipeline", "get_scope", "query_request_model", "readable"]

bearer = HTTPBearer(auto_error=False, description="An API key from the setting api_keys (only when keys are configured).")

# The key is checked by KeyCheck, before the body is read; this declares it in the OpenAPI schema.
KEYED = [Depends(bearer)]

# The errors every keyed route may answer (a copy per route: ``ERRORS | {...}``).
ERRORS: dict[int | str, dict[str, Any]] = {r: {"model": ErrorResponse} for r in (401, 429, 503)}


def get_pipeline(request: Request) -> Pipeline:
    """The app's loaded pipeline; 503 while the models load. Tests swap it through ``app.dependency_overrides``."""
    found: Pipeline | None = getattr(request.app.state, "pipeline", None)
    if found is None or not found.loaded:
        raise ApiError(503, "the models are still loading", "not_ready")
    return found


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]


def get_scope(request: Request) -> Scope:
    """The collections the caller's key may read and write (every one without keys; none when the
    key check left no scope: a route it did not guard)."""
    found = request.scope.get(SCOPE_KEY)
    return found if isinstance(found, Scope) else NOTHING


NOTHING = Scope(frozenset(), frozenset())
ScopeDep = Annotated[Scope, Depends(get_scope)]


def query_request_model(settings: Settings) -> type[QueryRequest]:
    """``QueryRequest`` with this server's limits (max_question_chars, max_top_k), so that /openapi.json states them."""
    turn = _turn_model(settings)
    model: type[QueryRequest] = create_model(
        "QueryRequest",
        __base__=QueryRequest,
        question=(str, Field(min_length=1, max_length=settings.max_question_chars, pattern=r"\S",
                             description=f"The question (at most {settings.max_question_chars:,} characters: setting max_question_chars).")),
        top_k=(int | None, Field(None, ge=1, le=settings.max_top_k, strict=True, description=f"Passages to read (1 to {settings.max_top_k}: setting max_top_k).")),
        history=(list[turn], Field(  # type: ignore[valid-type]
            default_factory=list, max_length=settings.max_history_turns,
            description=f"Earlier turns (at most {settings.max_history_turns}: setting max_history_turns; "
            f"{settings.max_history_chars:,} characters in all: setting max_history_chars): a follow-up is rewritten into a standalone question.")),
    )
    return model


def _turn_model(settings: Settings) -> type[Turn]:
    model: type[Turn] = create_model(
        "Turn", __base__=Turn,
        content=(str, Field(max_length=settings.max_turn_chars, description=f"At most {settings.max_turn_chars:,} characters (setting max_turn_chars).")),
    )
    return model


def chat_request_model(settings: Settings) -> type[ChatCompletionRequest]:
    """``ChatCompletionRequest`` with this server's limits: messages (max_history_turns + 1) and each
    message's text (max_turn_chars, or max_question_chars when larger); the service checks the
    question, each turn and the whole history again, by their own limits."""
    longest = max(settings.max_turn_chars, settings.max_question_chars)
    message: type[ChatMessage] = create_model(
        "ChatMessage", __base__=ChatMessage,
        content=(str | list[dict[str, Any]] | None, Field(None, description=f"Text (or text parts) of at most {longest:,} characters.")),
        __validators__={"_bounded": field_validator("content")(_bounded(longest))},
    )
    model: type[ChatCompletionRequest] = create_model(
        "ChatCompletionRequest", __base__=ChatCompletionRequest,
        messages=(list[message], Field(  # type: ignore[valid-type]
            min_length=1, max_length=settings.max_history_turns + 1,
            description=f"At most {settings.max_history_turns + 1} messages (setting max_history_turns, plus the question).")),
    )
    return model


def _bounded(limit: int) -> Any:
    def check(value: Any) -> Any:
        from api.openai_compat import message_text

        n = len(message_text(value))
        if n > limit:
            raise ValueError(f"the message is {n:,} characters long, over the limit of {limit:,} (setting max_turn_chars)")
        return value

    return check


def check_top_k(top_k: int | None, settings: Settings) -> None:
    """422 when ``top_k`` is over the setting max_top_k."""
    if top_k is not None and top_k > settings.max_top_k:
        raise ApiError(422, f"top_k {top_k} is over the limit of {settings.max_top_k} (setting max_top_k)")


def readable(scope: Scope, collections: list[str] | None) -> frozenset[str] | None:
    """The collections a question may be answered from: the key's, narrowed to ``collections``
    when the request names some (422 for a name that cannot be a collection's)."""
    for name in collections or ():
        try:
            check_collection(name)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
    return scope.readable(collections or None)
