"""Does abstention generalise? The default pipeline over small indexes of public data, asked
answerable questions and unanswerable ones of three kinds built from the same data
(training/questions.py): **adversarial** (a name, number or date changed for one no indexed
passage has), **near-topic** (questions of the same articles' unindexed paragraphs whose answer
no indexed passage holds) and **cross-corpus** (another set's questions); plus **cross-lingual**
answerable ones (the parallel XQuAD question in the other language).

Corpora: XQuAD en and zh, CMRC2018, HaluEval QA, of one split of training/pairs.py (``--split
report``, the default: XQuAD's odd articles, CMRC2018 dev, HaluEval rows 5,000-9,999, never used
for any choice; ``--split tune``: where training/answerer.py chose its margin and threshold).
``--traditional`` also asks the Chinese corpora in Traditional characters (passages, questions and
answers converted by OpenCC), and Traditional questions of the Simplified corpora.

Each answerer named by ``--answerer`` (default: the shipped one; training/answerer.py writes others)
reads the same retrieved passages in one process, with the answer reader of ``--reader``. "cited": not refused and a citation holds the
answer text. Nothing here is fitted.

    .venv/bin/python benchmarks/abstention.py                  # ~10 min on 2 cores
    .venv/bin/python benchmarks/abstention.py --split tune --traditional --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.answering import ExtractiveGenerator  # noqa: E402
from rag.answering.policy import ANSWERER_FILE, load_answerer  # noqa: E402
from rag.answering.reader import AnswerReader  # noqa: E402
from rag.embedders import E5Embedder, VectorCache  # noqa: E402
from rag.service import QAService  # noqa: E402
from training.questions import Corpus, corpora, indexed  # noqa: E402


def traditional(corpus: Corpus, *, passages: bool) -> Corpus:
    import opencc

    convert = opencc.OpenCC("s2t").convert
    rows = [(kind, convert(q) if kind != "cross-lingual" else q, convert(a) if (a and passages) else a) for kind, q, a in corpus.rows]
    texts = [convert(t) for t in corpus.texts] if passages else corpus.texts
    name = f"{corpus.name} (Traditional{'' if passages else ' questions'})"
    return Corpus(name, corpus.language, texts, rows)


def run(corpus: Corpus, embedder: E5Embedder, answerers: list[Path], reader: Path | None, tmp: Path) -> dict[str, dict[str, list[int]]]:
    snapshot = indexed(corpus, embedder, tmp / str(abs(hash(corpus.name))))
    generator = ExtractiveGenerator(embedder, snapshot, reader=AnswerReader(reader, cached=200_000) if reader else None)
    generator._vectors = VectorCache(200_000)  # the answerers read the same sentences
    service = QAService(snapshot, embedder, generator=generator)
    out: dict[str, dict[str, list[int]]] = {}
    for path in answerers:
        generator.policy, generator.selector = load_answerer(path)
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for kind, question, answer in corpus.rows:
            got = service.ask(question)
            if answer is None:
                cell = tally[f"{kind} refused"]
                cell[0] += int(got.abstained)
                cell[1] += 1
            else:
                cited = not got.abstained and any(answer in c.text for c in got.citations)
                for name, hit in ((f"{kind} cited", cited), (f"{kind} wrongly refused", got.abstained)):
                    tally[name][0] += int(hit)
                    tally[name][1] += 1
        out[path.name] = dict(tally)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--split", choices=["tune", "report"], default="report")
    parser.add_argument("--paragraphs", type=int, default=60, help="indexed paragraphs per XQuAD language and CMRC2018 (default 60)")
    parser.add_argument("--per-paragraph", type=int, default=2, help="questions asked per indexed paragraph (default 2)")
    parser.add_argument("--halueval", type=int, default=150, help="HaluEval QA knowledge passages indexed (default 150)")
    parser.add_argument("--answerer", type=Path, action="append", default=None,
                        help="an answerer file (repeatable; default the shipped rag/answering/answerer.json)")
    parser.add_argument("--reader", type=Path, default=None, help="the answer reader's folder, for answerers that read it")
    parser.add_argument("--traditional", action="store_true", help="also the Chinese corpora in Traditional characters")
    parser.add_argument("--only", action="append", default=None, help="only these corpora (xquad-en, xquad-zh, cmrc, halueval)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    answerers = args.answerer or [ANSWERER_FILE]
    embedder = E5Embedder(threads=2)
    sets = [c for c in corpora(args.data, args.split, limit=args.paragraphs, per_paragraph=args.per_paragraph, halueval=args.halueval)
            if not args.only or c.name in args.only]
    if args.traditional:
        sets += [traditional(c, passages=p) for c in sets if c.language == "zh" for p in (True, False)]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for corpus in sets:
            started = time.perf_counter()
            table = run(corpus, embedder, answerers, args.reader, Path(tmp))
            results[corpus.name] = table
            print(f"\n{corpus.name}, {args.split} split, {len(corpus.texts)} indexed passages ({time.perf_counter() - started:.0f} s):")
            print(f"  {'':30}" + "".join(f"{p.name[:22]:>24}" for p in answerers))
            for name in sorted(next(iter(table.values()))):
                cells = [table[p.name][name] for p in answerers]
                print(f"  {name:30}" + "".join(f"{f'{a}/{n} ({a / max(1, n):.1%})':>24}" for a, n in cells), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
