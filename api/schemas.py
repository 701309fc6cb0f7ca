"""Request and response bodies of the HTTP API (they are its OpenAPI schema at /openapi.json)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode(value: Any) -> Any:
    """Refuse text with unpaired surrogates (valid JSON escapes, but not Unicode: they cannot be
    encoded, stored or sent back)."""
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    for text in texts:
        if isinstance(text, dict):
            text = text.get("text", "")
        if isinstance(text, str) and _SURROGATE.search(text):
            raise ValueError("contains an unpaired surrogate escape (\\ud800-\\udfff): not valid Unicode text")
    return value

__all__ = [
    "ErrorBody",
    "ErrorResponse",
    "Turn",
    "QueryRequest",
    "CitationOut",
    "SentenceOut",
    "PassageOut",
    "QueryResponse",
    "DocumentOut",
    "DocumentList",
    "DocumentText",
    "UploadOut",
    "DeleteOut",
    "Health",
    "Ready",
    "ChatMessage",
    "ChatCompletionRequest",
    "ModelCard",
    "ModelList",
    "ChatCompletion",
]


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong, in one line.")
    type: str = Field(description="invalid_request_error, authentication_error, not_found_error, not_ready, conflict, server_error.")
    code: int = Field(description="The HTTP status.")
    details: list[dict[str, Any]] | None = Field(None, description="Per-field problems of a malformed request.")


class ErrorResponse(BaseModel):
    """Every error, in the shape OpenAI clients expect."""

    error: ErrorBody


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=100_000)

    _check_unicode = field_validator("content")(_unicode)


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question (at most the setting max_question_chars).", max_length=1_000_000)
    history: list[Turn] = Field(default_factory=list, max_length=100, description="Earlier turns: a follow-up is rewritten into a standalone question.")
    sources: list[str] | None = Field(None, max_length=1000, description="Answer only from these sources (ids or paths).")
    collections: list[str] | None = Field(None, max_length=100, description="Answer only from these collections (within those the key may read).")
    top_k: int | None = Field(None, ge=1, description="Passages to read (at most the setting max_top_k).")
    passages: bool = Field(False, strict=True, description="Include the retrieved passages with their scores.")
    explain: bool = Field(False, strict=True, description="Include an explanation: why each sentence was chosen, or why the answer was refused.")

    _check_unicode = field_validator("question", "sources", "collections")(_unicode)


class CitationOut(BaseModel):
    marker: int
    source: str
    source_id: str
    start: int
    end: int
    text: str = Field(description="Exactly the stored text of the source from start to end.")
    score: float
    page: int | None = None


class SentenceOut(BaseModel):
    text: str
    citations: list[int]
    supported: bool
    support: float
    reason: str


class PassageOut(BaseModel):
    rank: int
    score: float
    source: str
    start: int
    end: int
    dense_rank: int | None = None
    keyword_rank: int | None = None


class QueryResponse(BaseModel):
    """The answer, as ``rag ask --json`` prints it."""

    question: str
    answer: str
    abstained: bool
    citations: list[CitationOut]
    language: str
    generator: str
    standalone_question: str | None = None
    support: float
    sentences: list[SentenceOut] | None = None
    notes: list[str] | None = None
    reason: str | None = None
    passages: list[PassageOut] | None = None
    explanation: list[str] | None = None


class DocumentOut(BaseModel):
    id: str
    name: str
    source: str
    kind: str
    size: int
    chunks: int
    ingested_at: str
    collection: str = "default"


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    index_version: str | None


class DocumentText(BaseModel):
    id: str
    name: str
    source: str
    text: str


class UploadedDocument(DocumentOut):
    status: Literal["added", "updated", "unchanged"]


class SkippedUpload(BaseModel):
    name: str
    reason: str


class UploadOut(BaseModel):
    documents: list[UploadedDocument]
    skipped: list[SkippedUpload]
    index_version: str | None
    seconds: float


class DeleteOut(BaseModel):
    id: str
    name: str
    chunks_removed: int
    index_version: str | None


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    index_version: str
    sources: int | None = Field(None, description="Left out when some key may read only some collections (this route needs no key).")
    chunks: int | None = None
    embedder: str
    generator: str


# -- the OpenAI-compatible part ---------------------------------------------------------------


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    _check_unicode = field_validator("content")(_unicode)


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat completion request. Sampling options (temperature, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool = Field(False, strict=True)

    _check_unicode = field_validator("model")(_unicode)


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatChoiceMessage
    finish_reason: Literal["stop"]


class ChatCompletion(BaseModel):
    """OpenAI's chat completion, plus ``citations`` (ours, structured), ``sources`` (the source
    objects Open WebUI renders) and ``rag`` (the whole answer, as /v1/query gives it)."""

    model_config = ConfigDict(extra="allow")
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[CitationOut]
    sources: list[dict[str, Any]]
    rag: dict[str, Any] | None
