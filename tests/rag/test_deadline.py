"""The per-request deadline and bounded conversations in the service (fast: a fake embedder and
retriever)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rag.deadline import Deadline
from rag.domain import Passage
from rag.errors import ClientGoneError, DeadlineExceededError, QuestionError
from rag.service import QAService
from rag.store import IndexStore
from tests.conftest import HashEmbedder
from tests.rag.test_store import CHUNKER, put


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_deadline_stops_the_work_at_its_next_check() -> None:
    clock = Clock()
    deadline = Deadline(2.0, clock=clock)
    deadline.check("retrieval")
    assert deadline.remaining() == 2.0
    clock.now += 2.5
    with pytest.raises(DeadlineExceededError, match=r"longer than 2 s \(setting request_timeout_s\): stopped before answering"):
        deadline.check("answering")
    gone = Deadline()
    gone.check("anything")  # no limit
    gone.cancel("the client disconnected")
    with pytest.raises(ClientGoneError, match="the client disconnected: stopped before retrieval"):
        gone.check("retrieval")
    with pytest.raises(ValueError):
        Deadline(0)


@pytest.fixture
def service(tmp_path, hash_embedder: HashEmbedder) -> QAService:  # type: ignore[no-untyped-def]
    store = IndexStore(tmp_path / "idx")
    with store.writer(hash_embedder.info, CHUNKER.config) as w:
        put(w, hash_embedder, "/faq.txt", "充值一般需要十分钟。提现一般需要一个工作日。客服全天在线。")
        w.commit()
    return QAService(store.open(), hash_embedder, max_question_chars=60, max_turn_chars=100, max_history_chars=150, max_history_turns=4)


def test_the_service_refuses_an_oversized_history_before_any_work(service: QAService) -> None:
    with pytest.raises(QuestionError, match=r"turn 2 of the history is 101 characters long, over the limit of 100 \(setting max_turn_chars\)"):
        service.ask("那提现呢?", history=[("user", "充值"), ("user", "x" * 101)])
    with pytest.raises(QuestionError, match="over the limit of 4 .setting max_history_turns"):
        service.ask("那提现呢?", history=[("user", "充值")] * 5)
    with pytest.raises(QuestionError, match="over the limit of 150 .setting max_history_chars"):
        service.ask("那提现呢?", history=[("user", "充" * 80)] * 2)
    with pytest.raises(QuestionError, match="max_turn_chars"):
        next(service.stream("那提现呢?", history=[("user", "x" * 101)]))


def test_a_rewritten_follow_up_is_bounded_like_a_question(service: QAService) -> None:
    previous = " ".join(f"term{n}" for n in range(40))  # every one a term the rules carry over
    rewritten = service.standalone("And that?", [("user", previous)])
    assert rewritten.startswith("And that? term0") and len(rewritten) <= 60
    assert not rewritten.endswith(" ") and rewritten.split()[-1].startswith("term")


class SlowRetriever:
    def __init__(self, deadline: Deadline, clock: Clock) -> None:
        self.clock = clock

    def retrieve(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[Passage]:
        self.clock.now += 10.0  # retrieval takes 10 s
        return []


def test_past_its_deadline_the_service_stops_before_answering(service: QAService) -> None:
    clock = Clock()
    deadline = Deadline(5.0, clock=clock)
    service.retriever = SlowRetriever(deadline, clock)
    with pytest.raises(DeadlineExceededError, match="stopped before answering"):
        service.ask("提现需要多久?", deadline=deadline)
    with pytest.raises(DeadlineExceededError, match="stopped before answering"):
        list(service.stream("提现需要多久?", deadline=Deadline(5.0, clock=clock)))
