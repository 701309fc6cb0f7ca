"""LangChain at the edge: our components through LangChain's own interfaces.

This is the one module of the core that imports LangChain, so a LangChain upgrade touches one file
(and the factory, ``rag.cli.factory``, which builds ``ChatOpenAI`` from the settings):

- :class:`EmbedderEmbeddings`: any LangChain vector store can use our embedders;
- :class:`RagRetriever`: our retriever as a LangChain ``BaseRetriever`` (Documents carry the
  source, offsets and scores in their metadata);
- :class:`ChatModelGenerator`: answers written by any LangChain chat model (``ChatOpenAI`` for
  OpenAI-compatible servers and the local GGUF server), checked sentence by sentence by
  ``rag.answering.generation``; ``stream()`` yields only checked sentences;
- :func:`rag_chain` (the whole pipeline as a ``Runnable``:
  question -> retrieve -> numbered passages -> prompt -> chat model -> parse markers -> check
  -> ``Answer``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda

from rag.answering.generation import AnswerEvent, Unsupported, check_reply, prompt_messages, stream_checked
from rag.checking import FaithfulnessChecker, Statement, StatementVerdict, judge_messages, parse_judgement
from rag.domain import Answer, Passage
from rag.errors import GenerationError
from rag.followup import Turn, clean_rewrite, rewrite_messages
from rag.protocols import Embedder

__all__ = ["ChatModelGenerator", "ChatModelJudge", "EmbedderEmbeddings", "RagRetriever", "rag_chain"]


class EmbedderEmbeddings(Embeddings):
    """A LangChain ``Embeddings`` backed by one of our embedders."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()  # type: ignore[no-any-return]


def _document(p: Passage) -> LCDocument:
    """A passage as a LangChain document: its wire shape (:meth:`Passage.to_dict`: source, span,
    rank, the retrievers' ranks), the score unrounded, and what a LangChain pipeline may want
    beyond it (source id, page, heading, chunk id)."""
    c = p.chunk
    metadata = p.to_dict() | {"score": p.score, "source_id": c.source_id, "page": c.page, "heading": c.heading, "chunk_id": c.chunk_id}
    return LCDocument(page_content=c.text, metadata=metadata)


class RagRetriever(BaseRetriever):
    """Our hybrid retriever (or any ``rag.retrieval.Retriever``) as a LangChain retriever."""

    retriever: Any
    top_k: int = 5
    sources: list[str] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [_document(p) for p in self.retriever.retrieve(query, self.top_k, self.sources)]


def _messages(question: str, passages: Sequence[Passage]) -> list[SystemMessage | HumanMessage]:
    (_, system), (_, user) = prompt_messages(question, passages)
    return [SystemMessage(system), HumanMessage(user)]


def _failure_kinds() -> tuple[tuple[type[BaseException], str], ...]:
    """What a failed call means, by the exception's type (first match wins: openai's timeout is a
    kind of its connection error, so timeouts come first)."""
    import httpx
    import openai

    return (
        (openai.APITimeoutError, "timed out"),
        (httpx.TimeoutException, "timed out"),
        (TimeoutError, "timed out"),
        (openai.APIConnectionError, "cannot be reached"),
        (httpx.ConnectError, "cannot be reached"),
        (ConnectionError, "cannot be reached"),
    )


def _failure(backend: str, exc: Exception) -> GenerationError:
    """One readable line for a failed model call, naming the backend."""
    import openai

    kind = type(exc).__name__
    detail = str(exc).splitlines()[0] if str(exc) else kind
    what = next((said for cls, said in _failure_kinds() if isinstance(exc, cls)), None)
    if what is None:
        what = f"answered HTTP {exc.status_code}" if isinstance(exc, openai.APIStatusError) else f"failed ({kind})"
    return GenerationError(f"the language model {backend} {what}: {detail}")


class ChatModelGenerator:
    """Answers written by a LangChain chat model, every sentence checked before release."""

    def __init__(
        self,
        chat_model: BaseChatModel,
        checker: FaithfulnessChecker | None = None,
        *,
        unsupported: Unsupported = "flag",
        backend: str = "",
        serves_it: object | None = None,
    ) -> None:
        """``serves_it``: what the chat model talks to when this process runs it (a local GGUF
        server), kept as long as the generator so that it is not collected under it."""
        if unsupported not in ("flag", "drop"):
            raise ValueError(f"unsupported must be 'flag' or 'drop', got {unsupported!r}")
        self.chat_model = chat_model
        self.checker = checker or FaithfulnessChecker()
        self.unsupported: Unsupported = unsupported
        self.backend = backend or type(chat_model).__name__
        self.serves_it = serves_it
        self.name = f"llm:{self.backend}"
        self._chain: Runnable[Any, str] = chat_model | StrOutputParser()

    def reply(self, question: str, passages: Sequence[Passage]) -> str:
        """The model's raw reply (unchecked)."""
        try:
            return self._chain.invoke(_messages(question, passages))
        except GenerationError:
            raise
        except Exception as exc:  # openai/httpx errors, malformed replies: one line naming the backend
            raise _failure(self.backend, exc) from exc

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The follow-up ``question`` as a standalone question, written by the model."""
        if not any(role == "user" for role, _ in history):
            return question
        (_, system), (_, user) = rewrite_messages(question, history)
        try:
            reply = self._chain.invoke([SystemMessage(system), HumanMessage(user)])
        except Exception as exc:
            raise _failure(self.backend, exc) from exc
        return clean_rewrite(reply, question)

    def generate(self, question: str, passages: Sequence[Passage]) -> Answer:
        reply = self.reply(question, passages)
        return check_reply(reply, question, passages, self.checker, unsupported=self.unsupported, generator=self.name)

    def stream(self, question: str, passages: Sequence[Passage], *, raw: bool = False) -> Iterator[AnswerEvent]:
        """Checked sentences as they complete, then the final answer (see ``rag.answering.generation``)."""

        def chunks() -> Iterator[str]:
            try:
                yield from self._chain.stream(_messages(question, passages))
            except GenerationError:
                raise
            except Exception as exc:
                raise _failure(self.backend, exc) from exc

        yield from stream_checked(chunks(), question, passages, self.checker, unsupported=self.unsupported, generator=self.name, raw=raw)


class ChatModelJudge:
    """The LLM judge: a chat model asked, statement by statement, whether the passages support it
    (the :class:`rag.checking.Judge` protocol, beside the offline ``LexicalJudge``)."""

    def __init__(self, chat_model: BaseChatModel, *, backend: str = "") -> None:
        self.backend = backend or type(chat_model).__name__
        self.name = f"llm:{self.backend}"
        self._chain: Runnable[Any, str] = chat_model | StrOutputParser()

    def judge(self, statements: Sequence[str], passages: Sequence[str], question: str | None = None) -> list[StatementVerdict]:
        verdicts = []
        for text in statements:
            if not passages:
                verdicts.append(StatementVerdict(Statement(text, 0, len(text)), False, 0.0, "no passage to check against"))
                continue
            (_, system), (_, user) = judge_messages(text, passages, question)
            try:
                reply = self._chain.invoke([SystemMessage(system), HumanMessage(user)])
            except Exception as exc:
                raise _failure(self.backend, exc) from exc
            supported, why = parse_judgement(reply)
            if supported is None:
                verdicts.append(StatementVerdict(Statement(text, 0, len(text)), False, 0.0, f"the judge gave no verdict: {reply.strip()[:80]!r}"))
                continue
            reason = f"{'supported' if supported else 'not supported'} (judge {self.backend})" + (f": {why}" if why else "")
            verdicts.append(StatementVerdict(Statement(text, 0, len(text)), supported, 1.0 if supported else 0.0, reason))
        return verdicts


def rag_chain(retriever: Any, generator: ChatModelGenerator, top_k: int = 5) -> Runnable[str, Answer]:
    """The whole pipeline as LangChain runnables, a question in and a checked ``Answer`` out:
    retrieve -> numbered passages and prompt -> chat model -> reply text -> parse markers and
    check every sentence -> ``Answer``."""
    from operator import itemgetter

    from langchain_core.runnables import RunnablePassthrough

    def retrieve(question: str) -> dict[str, Any]:
        return {"question": question, "passages": retriever.retrieve(question, top_k)}

    def prompt(state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "messages": _messages(state["question"], state["passages"])}

    def check(state: dict[str, Any]) -> Answer:
        return check_reply(
            state["reply"], state["question"], state["passages"], generator.checker, unsupported=generator.unsupported, generator=generator.name
        )

    model = itemgetter("messages") | generator.chat_model | StrOutputParser()
    chain = (
        RunnableLambda(retrieve, name="retrieve")
        | RunnableLambda(prompt, name="numbered_passages_prompt")
        | RunnablePassthrough.assign(reply=model)
        | RunnableLambda(check, name="parse_and_check")
    )
    return chain.with_config(run_name="rag_chain")
