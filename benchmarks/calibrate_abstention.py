"""Fit the abstention policy of the extractive generator on calibration questions only.

The questions in ``shared/corpus/questions.jsonl`` are the *test*; none of them is used here.
Calibration questions, each labelled answerable (and answered with the right sentence) or not:

- sample corpus (``rag/data``): ``benchmarks/data/calibration_sample.jsonl``, questions written
  for calibration, answerable (with the substring the answer must cite) and near-topic
  unanswerable ones; plus CMRC2018 trial questions asked of it (all unanswerable);
- XQuAD zh passages (240): XQuAD zh questions (answerable, in Chinese), the parallel XQuAD en
  questions (answerable, cross-lingual), CMRC2018 trial questions (unanswerable, Chinese) and
  HaluEval QA questions (unanswerable, English).

An answerable row counts as positive only when the chosen sentences contain its answer; rows
answered with the wrong sentence are left out (retrieval misses are not abstention's job).
A logistic regression (numpy, L2) is fitted on the features of :class:`rag.answering.Evidence`;
the threshold maximises balanced accuracy on 5-fold cross-validated scores. Paste the printed
policy into ``rag/answering/policy.py`` (``DEFAULT_POLICY``).

    .venv/bin/python benchmarks/calibrate_abstention.py [--data ../shared/data] [--per-source 120]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from benchmarks.logistic import fit  # noqa: E402
from rag import sample_corpus_path  # noqa: E402
from rag.answering import FEATURES, ExtractiveGenerator  # noqa: E402
from rag.cli.factory import build_ingestor  # noqa: E402
from rag.embedders import E5Embedder  # noqa: E402
from rag.retrieval import HybridRetriever  # noqa: E402
from rag.settings import load_settings  # noqa: E402
from rag.store import IndexStore  # noqa: E402


def squad(path: Path) -> list[tuple[str, str, list[str], str]]:
    """(question id, question, answers, context) rows of a SQuAD-format file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        (qa["id"], qa["question"], [a["text"] for a in qa["answers"]], p["context"])
        for article in data["data"]
        for p in article["paragraphs"]
        for qa in p["qas"]
    ]


def build_index(texts: list[str], root: Path, embedder: E5Embedder) -> IndexStore:
    docs = root / "docs"
    docs.mkdir(parents=True)
    for n, text in enumerate(texts):
        (docs / f"{n:04d}.txt").write_text(text, encoding="utf-8")
    settings = load_settings(environ={})
    build_ingestor(settings, embedder=embedder, index_dir=root / "index").ingest([docs])
    return IndexStore(root / "index")


def features(store: IndexStore, embedder: E5Embedder, rows: list[tuple[str, bool, list[str], str]]) -> list[dict[str, object]]:
    out = []
    with store.open() as snapshot:
        retriever = HybridRetriever.over(snapshot, embedder)
        generator = ExtractiveGenerator(embedder, snapshot)
        for question, answerable, answers, origin in rows:
            passages = retriever.retrieve(question, 5)
            evidence, chosen = generator.evidence_for(question, passages)
            text = "".join(c.text for c in chosen)
            hit = any(a and a in text for a in answers)
            if answerable and not hit:
                continue
            out.append({"question": question, "label": int(answerable), "origin": origin, "x": evidence.vector().tolist()})
    return out


def balanced_accuracy(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    pred = p >= threshold
    return 0.5 * (float(pred[y == 1].mean()) + float((~pred[y == 0]).mean()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--per-source", type=int, default=120, help="questions drawn from each external source")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    embedder = E5Embedder(threads=2)
    rows_out: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        # 1. The sample corpus.
        sample = build_index([sample_corpus_path().read_text(encoding="utf-8")], tmp_path / "sample", embedder)
        own = [json.loads(line) for line in (ROOT / "benchmarks" / "data" / "calibration_sample.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        cmrc = squad(args.data / "cmrc2018" / "cmrc2018_trial.json")
        rng.shuffle(cmrc)
        rows = [(q["question"], q["answerable"], [q.get("gold", "")], "sample/own") for q in own]
        rows += [(q, False, [], "sample/cmrc") for _, q, _, _ in cmrc[: args.per_source]]
        rows_out += features(sample, embedder, rows)
        # 2. XQuAD zh passages.
        zh = squad(args.data / "xquad" / "xquad.zh.json")
        en = {qid: q for qid, q, _, _ in squad(args.data / "xquad" / "xquad.en.json")}
        contexts = list(dict.fromkeys(c for _, _, _, c in zh))
        xquad = build_index(contexts, tmp_path / "xquad", embedder)
        picked = rng.sample(zh, args.per_source)
        halueval = [json.loads(line)["question"] for line in (args.data / "halueval_qa" / "dataset_halueval_qa.jsonl").read_text(encoding="utf-8").splitlines()[:2000]]
        rows = [(q, True, answers, "xquad/zh") for _, q, answers, _ in picked]
        rows += [(en[qid], True, answers, "xquad/en->zh") for qid, _, answers, _ in picked if qid in en]
        rows += [(q, False, [], "xquad/cmrc") for _, q, _, _ in cmrc[args.per_source : 2 * args.per_source]]
        rows += [(q, False, [], "xquad/halueval") for q in rng.sample(halueval, args.per_source)]
        rows_out += features(xquad, embedder, rows)

    x = np.asarray([r["x"] for r in rows_out])
    y = np.asarray([r["label"] for r in rows_out], dtype=float)
    folds = np.arange(len(y)) % 5
    rng_np = np.random.default_rng(args.seed)
    rng_np.shuffle(folds)
    cv = np.zeros(len(y))
    for k in range(5):
        w, b = fit(x[folds != k], y[folds != k])
        cv[folds == k] = 1 / (1 + np.exp(-(x[folds == k] @ w + b)))
    thresholds = np.linspace(0.05, 0.95, 91)
    best = max(thresholds, key=lambda t: balanced_accuracy(y, cv, t))
    w, b = fit(x, y)
    print(f"calibration rows: {len(y)} ({int(y.sum())} answerable with the right sentence, {int((1 - y).sum())} unanswerable)")
    for origin in sorted({str(r["origin"]) for r in rows_out}):
        mask = np.asarray([r["origin"] == origin for r in rows_out])
        correct = ((cv[mask] >= best) == (y[mask] == 1)).mean()
        print(f"  {origin:<16} {mask.sum():>4} rows, cross-validated accuracy {100 * correct:5.1f}%")
    print(f"cross-validated balanced accuracy {100 * balanced_accuracy(y, cv, best):.1f}% at threshold {best:.2f}")
    print("\nDEFAULT_POLICY = AbstentionPolicy(")
    print(f"    weights=({', '.join(f'{v:.3f}' for v in w)}),  # {', '.join(FEATURES)}")
    print(f"    bias={b:.3f},")
    print(f"    threshold={best:.2f},")
    print(f'    fitted_on="benchmarks/calibrate_abstention.py: {len(y)} calibration questions, seed {args.seed}",')
    print(")")


if __name__ == "__main__":
    main()
