"""Does abstention generalise? The default pipeline on XQuAD passages, in English and Chinese,
asked answerable questions and three kinds of unanswerable ones built from the same data:

- **adversarial**: an answerable question with a name or a number changed for one the indexed
  passages do not have (training/pairs.py's `_entity` / `_number`, names from other articles);
- **near-topic**: questions of the same articles' paragraphs that are not indexed (odd paragraph
  indices; the even ones are indexed), kept only when their answer occurs in no indexed passage;
- **cross-corpus**: questions of another set (CMRC2018 dev for Chinese, HaluEval QA for English).

Answerable: the indexed paragraphs' own questions; "cited" when a citation holds the answer text.
Splits: XQuAD articles as in training/pairs.py (``--split report``: odd articles, never used for
any choice; ``--split tune``: articles i % 4 == 2); nothing here is fitted.

    .venv/bin/python benchmarks/abstention.py                  # ~5 min on 2 cores
    .venv/bin/python benchmarks/abstention.py --paragraphs 40 --split tune
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.cli.factory import build_ingestor  # noqa: E402
from rag.embedders import E5Embedder  # noqa: E402
from rag.service import QAService  # noqa: E402
from rag.settings import load_settings  # noqa: E402
from rag.store import IndexStore  # noqa: E402
from training.pairs import _entity, _names, _number, paragraphs  # noqa: E402


def questions(data: Path, split: str, language: str, limit: int, rng: random.Random) -> tuple[list[str], list[tuple[str, str, str | None]]]:
    """The indexed passages and (kind, question, answer) rows."""
    found = paragraphs(data, split)[f"xquad-{language}"]
    indexed = [p for p in found if int(p.key.rsplit(":", 1)[1]) % 2 == 0][:limit]
    articles = {p.key.rsplit(":", 1)[0] for p in indexed}
    others = [p for p in found if int(p.key.rsplit(":", 1)[1]) % 2 == 1 and p.key.rsplit(":", 1)[0] in articles]
    texts = [p.text for p in indexed]
    everything = "\n".join(texts)
    pool = [n for p in found if p.key.rsplit(":", 1)[0] not in articles for n in _names(p.text, language)][:3000]
    rows: list[tuple[str, str, str | None]] = []
    for p in indexed:
        for question, answer, _ in p.qas[:2]:
            rows.append(("answerable", question, answer))
            for changed in (_entity(question, language, pool, rng), _number(question, rng)):
                if changed and changed != question:
                    new_words = set(_names(changed, language)) - set(_names(question, language))
                    digits = {w for w in changed.split() if any(ch.isdigit() for ch in w)} - set(question.split())
                    if all(w not in everything for w in new_words | digits) and (new_words or digits):
                        rows.append(("adversarial", changed, None))
                        break
    for p in others:
        for question, answer, _ in p.qas[:1]:
            if answer and answer not in everything:
                rows.append(("near-topic", question, None))
    near = sum(1 for r in rows if r[0] == "near-topic")
    if language == "zh":
        cmrc = json.loads((data / "cmrc2018" / "cmrc2018_dev.json").read_text(encoding="utf-8"))["data"]
        foreign = [qa["question"] for a in cmrc for p in a["paragraphs"] for qa in p["qas"]]
    else:
        with (data / "halueval_qa" / "dataset_halueval_qa.jsonl").open(encoding="utf-8") as lines:
            foreign = [json.loads(line)["question"] for i, line in zip(range(10000), lines) if i >= 5000]
    rows += [("cross-corpus", q, None) for q in rng.sample(foreign, max(near, 30))]
    return texts, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--split", choices=["tune", "report"], default="report")
    parser.add_argument("--paragraphs", type=int, default=60, help="indexed paragraphs per language (default 60)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    embedder = E5Embedder(threads=2)
    results: dict[str, object] = {}
    for language in ("en", "zh"):
        texts, rows = questions(args.data, args.split, language, args.paragraphs, random.Random(3))
        with tempfile.TemporaryDirectory() as tmp:
            docs = Path(tmp) / "docs"
            docs.mkdir()
            for n, text in enumerate(texts):
                (docs / f"p{n:03d}.txt").write_text(text, encoding="utf-8")
            build_ingestor(load_settings(environ={}), embedder=embedder, index_dir=Path(tmp) / "idx").ingest([docs])
            service = QAService(IndexStore(Path(tmp) / "idx").open(embedder.info), embedder)
            tally: dict[str, list[bool]] = defaultdict(list)
            for kind, question, answer in rows:
                got = service.ask(question)
                if answer is None:
                    tally[f"{kind} refused"].append(got.abstained)
                else:
                    tally["answerable cited"].append(not got.abstained and any(answer in c.text for c in got.citations))
                    tally["answerable wrongly refused"].append(got.abstained)
        table = {name: [sum(v), len(v)] for name, v in tally.items()}
        results[language] = table
        print(f"XQuAD {language}, {args.split} split, {len(texts)} indexed paragraphs:")
        for name, (hit, n) in table.items():
            print(f"  {name:28} {hit:4}/{n:<4} {hit / n:6.1%}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
