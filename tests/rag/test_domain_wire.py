"""One wire shape per type (rag/domain.py to_dict/from_dict), and the API schema validates it."""

from __future__ import annotations

import math
from pathlib import Path

from api.schemas import CitationOut, PassageOut, QueryResponse, SentenceOut
from rag.cli.factory import Factory, build_ingestor
from rag.domain import Answer, AnswerSentence, Citation, Passage, Statement, StatementVerdict, StoredChunk, source_id_for
from rag.service import answer_to_dict
from rag.settings import Settings
from tests.conftest import HashEmbedder

CITATION = Citation(1, "/docs/faq.txt", source_id_for("/docs/faq.txt"), 0, 13, "提现一般需要1个工作日到账。", 2.5, page=3)
SENTENCE = AnswerSentence("提现一般需要1个工作日到账。[1]", (1,), True, 0.93, "covered")


def _passage(**kw: object) -> Passage:
    path = "/docs/faq.txt"
    chunk = StoredChunk(-1, "", source_id_for(path), path, 0, 0, 40, "", "", None)
    return Passage(chunk, 1.2345, 1, dense_rank=2, keyword_rank=None, **kw)  # type: ignore[arg-type]


def test_citation_and_sentence_round_trip() -> None:
    assert Citation.from_dict(CITATION.to_dict()) == CITATION
    assert list(CITATION.to_dict()) == list(CitationOut.model_fields)
    assert AnswerSentence.from_dict(SENTENCE.to_dict()) == SENTENCE
    assert list(SENTENCE.to_dict()) == list(SentenceOut.model_fields)


def test_passage_round_trip_and_what_it_drops() -> None:
    p = _passage()
    assert Passage.from_dict(p.to_dict()) == p
    assert list(p.to_dict()) == list(PassageOut.model_fields)
    full = Passage(StoredChunk(7, "abc", "sid", "/x", 3, 5, 9, "text", "h", 2), 0.123456, 2, 0.9, 1, 3.0, 4)
    back = Passage.from_dict(full.to_dict())
    assert (back.rank, back.score, back.chunk.path, back.chunk.start, back.chunk.end, back.dense_rank, back.keyword_rank) == (2, 0.1235, "/x", 5, 9, 1, 4)
    assert (back.chunk.text, back.chunk.chunk_id, back.chunk.vector_id, back.dense_score, back.keyword_score) == ("", "", -1, None, None)


def test_answer_round_trip() -> None:
    answer = Answer("q?", "提现一般需要1个工作日到账。[1]", False, (CITATION,), "zh", "openai", 0.93,
                    passages=(_passage(),), sentences=(SENTENCE,), notes=("dropped one",), standalone="q alone?")
    assert Answer.from_dict(answer.to_dict(passages=True)) == answer
    abstained = Answer("who?", "I cannot answer.", True, (), "en", "extractive", 0.0, reason="nothing relevant")
    assert Answer.from_dict(abstained.to_dict()) == abstained
    assert "reason" not in Answer("q", "a", False, (), "en", "extractive", 1.0, reason="ignored").to_dict()


def test_statement_verdict_round_trip() -> None:
    verdict = StatementVerdict(Statement("It rains.", 0, 9, (1, 2)), True, 0.8765, "covered")
    assert StatementVerdict.from_dict(verdict.to_dict()) == verdict
    nan = StatementVerdict.from_dict(StatementVerdict(Statement("x", 0, 1), False, math.nan, "none").to_dict())
    assert math.isnan(nan.score) and nan.statement.markers == ()


def test_a_real_answer_validates_with_the_api_schema(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    settings = Settings(index_dir=tmp_path / "idx")
    (tmp_path / "faq.txt").write_text("提现一般需要1个工作日到账。大额提现需要人工审核。\n", encoding="utf-8")
    assert build_ingestor(settings, embedder=embedder).ingest([tmp_path / "faq.txt"]).files_added == 1
    service = Factory(settings, embedder=embedder).service()
    for question in ("提现需要多久到账?", "Who founded Binance?"):
        answer = service.ask(question)
        data = answer_to_dict(answer, passages=True)
        assert data["passages"]
        model = QueryResponse.model_validate(data)
        assert model.model_dump(exclude_unset=True) == data
        assert Answer.from_dict(data).to_dict(passages=True) == data
