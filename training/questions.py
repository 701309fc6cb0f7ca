"""Answerable and unanswerable questions over small indexes built from ``../shared/data``, by kind,
in the splits of training/pairs.py (issue 15; the answerer's training data and benchmarks/abstention.py's).

An index is a list of passage texts; each row is (kind, question, answer): ``answer`` is the text
a cited sentence must hold, None for an unanswerable question. Kinds:

- ``answerable``: the indexed passages' own questions;
- ``cross-lingual``: the parallel XQuAD question in the other language (its answer in the
  passage's language);
- ``adversarial``: an answerable question with a name, a number or a date changed for one no
  indexed passage has (names drawn from articles that are not indexed);
- ``near-topic``: questions of the same articles' paragraphs that are not indexed (odd paragraph
  indices; the even ones are indexed), kept only when no indexed passage holds their answer;
- ``cross-corpus``: questions of another set (CMRC2018 for Chinese XQuAD, XQuAD for CMRC2018,
  HaluEval QA for English XQuAD, XQuAD en for HaluEval);
- ``cross-lingual near-topic`` and ``cross-lingual cross-corpus``: the same in the other language
  (the parallel XQuAD question of a near-topic one; HaluEval QA questions asked of the Chinese
  corpora, CMRC2018 questions of the English ones), so that a question in another language than
  the documents' is not taken as answerable for that alone.

Every source of a split comes from that split only (training/pairs.py's ``paragraphs``), so the
rows of ``train``, ``tune`` and ``report`` never share a passage or a question.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.pairs import Paragraph, _date, _entity, _names, _number, paragraphs

__all__ = ["Corpus", "corpora", "indexed"]


@dataclass(frozen=True)
class Corpus:
    name: str  # "xquad-en", "xquad-zh", "cmrc", "halueval"
    language: str
    texts: list[str]
    rows: list[tuple[str, str, str | None]]


def _paragraph_no(p: Paragraph) -> int:
    return int(p.key.rsplit(":", 1)[1])


def _article(p: Paragraph) -> str:
    return p.key.rsplit(":", 1)[0]


def _edited(question: str, language: str, pool: Sequence[str], everything: str, rng: random.Random) -> str | None:
    """The question with a name, a number or a date changed for one the indexed text lacks."""
    edits = [lambda: _entity(question, language, pool, rng), lambda: _number(question, rng), lambda: _date(question, rng)]
    rng.shuffle(edits)
    for edit in edits:
        changed = edit()
        if not changed or changed == question:
            continue
        new = set(_names(changed, language)) - set(_names(question, language))
        new |= {w for w in changed.replace("？", " ").replace("?", " ").split() if any(ch.isdigit() for ch in w)} - set(question.split())
        if new and all(w not in everything for w in new):
            return changed
    return None


def _passages(found: list[Paragraph], limit: int, split_by_paragraph: bool) -> tuple[list[Paragraph], list[Paragraph]]:
    """The indexed paragraphs and the unindexed ones of the same articles."""
    if not split_by_paragraph:
        return found[:limit], []
    indexed = [p for p in found if _paragraph_no(p) % 2 == 0][:limit]
    articles = {_article(p) for p in indexed}
    return indexed, [p for p in found if _paragraph_no(p) % 2 == 1 and _article(p) in articles]


def _corpus(
    name: str,
    found: list[Paragraph],
    foreign: Sequence[str],
    other_language: Sequence[str],
    parallel: dict[str, Paragraph],
    *,
    limit: int,
    per_paragraph: int,
    rng: random.Random,
) -> Corpus:
    language = found[0].language if found else "en"
    indexed, others = _passages(found, limit, name != "halueval")
    texts = [p.text for p in indexed]
    everything = "\n".join(texts)
    chosen = {_article(p) for p in indexed}
    pool = [n for p in found if _article(p) not in chosen for n in _names(p.text, language)][:3000]
    if not pool:  # HaluEval: every passage is its own article
        pool = [n for p in found[limit:] for n in _names(p.text, language)][:3000]
    rows: list[tuple[str, str, str | None]] = []
    for p in indexed:
        for n, (question, answer, start) in enumerate(p.qas[:per_paragraph]):
            if start == -2 or answer not in p.text:
                continue  # HaluEval's hallucinated answer; an answer the passage does not hold verbatim
            rows.append(("answerable", question, answer))
            twin = parallel.get(p.key)
            if twin is not None and n < len(twin.qas):
                rows.append(("cross-lingual", twin.qas[n][0], answer))
            changed = _edited(question, language, pool, everything, rng)
            if changed:
                rows.append(("adversarial", changed, None))
    near = 0
    for p in others:
        twin = parallel.get(p.key)
        for n, (question, answer, _) in enumerate(p.qas[: max(1, per_paragraph // 2)]):
            if answer and answer not in everything:
                rows.append(("near-topic", question, None))
                near += 1
                if twin is not None and n < len(twin.qas):
                    rows.append(("cross-lingual near-topic", twin.qas[n][0], None))
    answerable = sum(1 for r in rows if r[0] == "answerable")
    count = max(near, answerable // 3, 30)
    rows += [("cross-corpus", q, None) for q in rng.sample(list(foreign), min(len(foreign), count))]
    rows += [("cross-lingual cross-corpus", q, None) for q in rng.sample(list(other_language), min(len(other_language), count // 2))]
    return Corpus(name, language, texts, rows)


def corpora(data: Path, split: str, *, limit: int = 60, per_paragraph: int = 2, halueval: int = 150, seed: int = 3) -> list[Corpus]:
    """The four corpora of ``split``: XQuAD en and zh (``limit`` indexed paragraphs each), CMRC2018
    (``limit``) and HaluEval QA (``halueval`` knowledge passages), with their rows."""
    rng = random.Random(seed)
    found = paragraphs(data, split)
    xen, xzh, cmrc = found["xquad-en"], found["xquad-zh"], found["cmrc"]
    halu = found["halueval"][: halueval * 3]
    by_key = {"en": {p.key.replace("xquad-en", "xquad-zh"): p for p in xen}, "zh": {p.key.replace("xquad-zh", "xquad-en"): p for p in xzh}}

    def questions(ps: Sequence[Paragraph]) -> list[str]:
        return [q for p in ps for q, _, start in p.qas if start != -2]

    return [
        _corpus("xquad-en", xen, questions(halu[halueval:]), questions(cmrc), by_key["zh"], limit=limit, per_paragraph=per_paragraph, rng=rng),
        _corpus("xquad-zh", xzh, questions(cmrc), questions(halu[halueval:]), by_key["en"], limit=limit, per_paragraph=per_paragraph, rng=rng),
        _corpus("cmrc", cmrc, questions(xzh), questions(halu[halueval:]), {}, limit=limit, per_paragraph=per_paragraph, rng=rng),
        _corpus("halueval", halu, questions(xen), questions(cmrc), {}, limit=halueval, per_paragraph=1, rng=rng),
    ]


def indexed(corpus: Corpus, embedder: Any, root: Path) -> Any:
    """The corpus' passages written as files under ``root/docs``, ingested with the default
    settings into ``root/idx``, and that index opened (an IndexView)."""
    from rag.cli.factory import build_ingestor
    from rag.settings import load_settings
    from rag.store import IndexStore

    docs = root / "docs"
    docs.mkdir(parents=True)
    for n, text in enumerate(corpus.texts):
        (docs / f"p{n:04d}.txt").write_text(text, encoding="utf-8")
    build_ingestor(load_settings(environ={}), embedder=embedder, index_dir=root / "idx").ingest([docs])
    return IndexStore(root / "idx").open(embedder.info)
