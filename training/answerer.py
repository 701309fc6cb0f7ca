"""Fit the extractive answerer's sentence selector and abstention policy (issue 15).

    .venv/bin/python -m training.answerer            # ~10 min on 2 cores: fit, threshold, figures
    .venv/bin/python -m training.answerer --write    # also store them in rag/answering/answerer.json

1. **Questions** (training/questions.py): the ``tune`` split's corpora (XQuAD en and zh, CMRC2018,
   HaluEval QA), each indexed by the real ingest (default settings, e5-small), and their rows:
   answerable, cross-lingual, adversarial, near-topic and cross-corpus questions. Each question
   is retrieved (hybrid, top 5) and read by the real ExtractiveGenerator with the shipped answer
   reader, which records every candidate sentence's features (rag/answering/selection.py). Not the
   ``train`` split: the reader was trained on its questions, and its scores there are not the
   ones it gives questions it never saw. Questions whose CRC-32 is even **fit**, the others **calibrate**.
2. **Selector** (fit half): a logistic model of "this sentence holds the answer" over the
   candidates of every answerable question that has one, each question weighing the same;
   beside it, the hand rule it replaces (standardised similarity + 3 x term coverage).
3. **Abstention** (fit half): with the fitted selector, a logistic model of "answer" over the
   question's :class:`rag.answering.Evidence`: answerable questions whose chosen sentences hold
   the answer against every unanswerable kind, each (corpus, kind) group weighing the same,
   weights kept on the side where their feature can only help or hurt.
4. **Margin and threshold** (calibrate half only): the margin within which further sentences join
   the best, and the threshold: the highest one that wrongly refuses at most ``--max-refused``
   (5 %) of the answerable questions (or, when the kind-of-answer rule alone refuses more, at
   most half that beyond it).
5. **Figures**: fit and calibrate halves side by side (the gap is the overfit); the reporting
   split is benchmarks/abstention.py's and benchmarks/answers.py's business, run after ``--write``.

Data: XQuAD (CC BY-SA 4.0), CMRC2018 (CC BY-SA 4.0), HaluEval QA (MIT); what is shipped is 24
weights, 2 biases, a margin and a threshold (rag/answering/answerer.json), with this provenance.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.logistic import fit  # noqa: E402
from rag.answering import FEATURES, ExtractiveGenerator  # noqa: E402
from rag.answering.policy import ANSWERER_FILE, DEFAULT_POLICY, DEFAULT_SELECTOR, AbstentionPolicy  # noqa: E402
from rag.answering.reader import BUNDLED_READER, AnswerReader  # noqa: E402
from rag.answering.selection import CANDIDATE_FEATURES, SentenceSelector  # noqa: E402
from rag.domain import Passage  # noqa: E402
from rag.embedders import E5Embedder, VectorCache  # noqa: E402
from rag.retrieval import HybridRetriever  # noqa: E402
from training.questions import corpora, indexed  # noqa: E402

# + helps answering, - hurts, 0 either (coverage, passage_coverage, unseen, type_missing, dense,
# dense_margin, cross_lingual, countable, names_missing, selector, reader)
SIGNS = np.asarray([1, 1, -1, -1, 0, 1, 0, 0, -1, 1, 1])


@dataclass
class Asked:
    split: str
    corpus: str
    kind: str
    question: str
    answer: str | None
    generator: ExtractiveGenerator
    passages: list[Passage]


def collect(split: str, args: argparse.Namespace, embedder: E5Embedder, reader: AnswerReader | None, tmp: Path) -> list[Asked]:
    out = []
    for corpus in corpora(args.data, split, limit=args.paragraphs, per_paragraph=args.per_paragraph, halueval=args.halueval):
        started = time.perf_counter()
        snapshot = indexed(corpus, embedder, tmp / f"{split}-{corpus.name}")
        retriever = HybridRetriever.over(snapshot, embedder)
        generator = ExtractiveGenerator(embedder, snapshot, reader=reader)
        generator._vectors = VectorCache(200_000)  # every sentence is read again with the fitted selector
        for kind, question, answer in corpus.rows:
            half = "fit" if zlib.crc32(question.encode("utf-8")) % 2 == 0 else "calibrate"
            out.append(Asked(half, corpus.name, kind, question, answer, generator, retriever.retrieve(question, 5)))
        print(f"  {split}/{corpus.name}: {len(corpus.texts)} passages, {len(corpus.rows)} questions, {time.perf_counter() - started:.0f} s",
              flush=True)
    return out


def holds(text: str, answer: str) -> bool:
    return answer in text or answer.lower() in text.lower()


def read(asked: list[Asked], selector: SentenceSelector) -> list[dict[str, object]]:
    """Every question read with ``selector``: its evidence, candidates and whether the choice holds the answer."""
    rows = []
    for a in asked:
        a.generator.selector = selector
        try:
            s = a.generator.select(a.question, a.passages)
        except ValueError:
            continue
        labels = [holds(c.text, a.answer) for c in s.read] if a.answer else [False] * len(s.read)
        top = max(s.read, key=lambda c: c.score)
        rows.append({
            "split": a.split, "group": f"{a.corpus}/{a.kind}", "kind": a.kind, "answerable": a.answer is not None,
            "x": s.evidence.vector(), "features": np.stack([c.features for c in s.read]), "labels": np.asarray(labels),
            "top": bool(a.answer) and holds(top.text, a.answer or ""),
            "chosen": bool(a.answer) and holds(" ".join(c.text for c in s.chosen), a.answer or ""),
            "sentences": len(s.chosen), "type_missing": bool(s.evidence.type_missing),
        })
    return rows


def fit_selector(rows: list[dict[str, object]], margin: float) -> SentenceSelector:
    xs, ys, groups = [], [], []
    for n, r in enumerate(rows):
        labels = r["labels"]
        assert isinstance(labels, np.ndarray)
        if r["split"] == "fit" and r["answerable"] and labels.any() and not labels.all():
            xs.append(r["features"])
            ys.append(labels.astype(float))
            groups.append(np.full(len(labels), n))
    w, b = fit(np.concatenate(xs), np.concatenate(ys), np.concatenate(groups), steps=3000)
    return SentenceSelector(tuple(round(float(v), 4) for v in w), round(float(b), 4), margin)


def selection_table(rows: list[dict[str, object]], split: str) -> str:
    mine = [r for r in rows if r["split"] == split and r["answerable"]]
    top = sum(bool(r["top"]) for r in mine)
    chosen = sum(bool(r["chosen"]) for r in mine)
    sentences = np.mean([float(r["sentences"]) for r in mine])  # type: ignore[arg-type]
    return f"{split}: top sentence holds the answer {top}/{len(mine)} ({top / len(mine):.1%}), chosen {chosen / len(mine):.1%}, {sentences:.2f} sentences"


def fit_policy(rows: list[dict[str, object]]) -> tuple[np.ndarray, float]:
    train = [r for r in rows if r["split"] == "fit" and (not r["answerable"] or r["chosen"])]
    x = np.stack([r["x"] for r in train])  # type: ignore[misc]
    y = np.asarray([float(bool(r["answerable"])) for r in train])
    names = sorted({str(r["group"]) for r in train})
    groups = np.asarray([names.index(str(r["group"])) for r in train])
    return fit(x, y, groups, l2=0.1, steps=6000, signs=SIGNS)


def decisions(rows: list[dict[str, object]], policy: AbstentionPolicy) -> np.ndarray:
    support = np.asarray([policy.support_of(r["x"]) for r in rows])  # type: ignore[arg-type]
    type_missing = np.asarray([bool(r["type_missing"]) for r in rows])
    return (support >= policy.threshold) & ~type_missing


def threshold(rows: list[dict[str, object]], policy: AbstentionPolicy, max_refused: float) -> float:
    """The highest threshold that wrongly refuses at most ``max_refused`` of the tune split's
    answerable questions beyond those the kind-of-answer rule refuses whatever the threshold."""
    answerable = [r for r in rows if r["split"] == "calibrate" and r["answerable"]]
    floor = 1 - decisions(answerable, replace(policy, threshold=0.0)).mean()
    best = 0.05
    for t in np.arange(0.05, 0.951, 0.01):
        refused = 1 - decisions(answerable, replace(policy, threshold=float(t))).mean()
        if refused <= max(max_refused, floor + max_refused / 2):
            best = float(t)
    print(f"threshold: the kind-of-answer rule alone refuses {floor:.1%} of the tune split's answerable questions")
    return round(best, 2)


def report(rows: list[dict[str, object]], policy: AbstentionPolicy, title: str) -> dict[str, dict[str, list[int]]]:
    print(f"\n{title} (threshold {policy.threshold:.2f})")
    table: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for split in ("fit", "calibrate"):
        mine = [r for r in rows if r["split"] == split]
        answered = decisions(mine, policy)
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r, said in zip(mine, answered, strict=True):
            language = "zh" if r["group"].startswith(("xquad-zh", "cmrc")) else "en"  # type: ignore[union-attr]
            if str(r["kind"]).startswith("cross-lingual"):
                language = "en" if language == "zh" else "zh"  # the question's language
            if r["answerable"]:
                tally[f"{language} {r['kind']} cited"][0] += int(bool(said and r["chosen"]))
                tally[f"{language} {r['kind']} wrongly refused"][0] += int(not said)
                tally[f"{language} {r['kind']} cited"][1] += 1
                tally[f"{language} {r['kind']} wrongly refused"][1] += 1
            else:
                tally[f"{language} {r['kind']} refused"][0] += int(not said)
                tally[f"{language} {r['kind']} refused"][1] += 1
        table[split] = dict(tally)
    for name in sorted(table["calibrate"]):
        a, b = table["fit"].get(name, [0, 0]), table["calibrate"][name]
        print(f"  {name:36} fit {a[0]:4}/{a[1]:<4} {a[0] / max(1, a[1]):6.1%}   calibrate {b[0]:4}/{b[1]:<4} {b[0] / max(1, b[1]):6.1%}")
    return dict(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--paragraphs", type=int, default=60, help="indexed paragraphs per XQuAD language and CMRC2018 (default 60)")
    parser.add_argument("--per-paragraph", type=int, default=5, help="questions asked per indexed paragraph (default 5)")
    parser.add_argument("--halueval", type=int, default=150, help="HaluEval QA knowledge passages indexed (default 150)")
    parser.add_argument("--max-refused", type=float, default=0.05, help="most answerable tune questions refused (default 0.05)")
    parser.add_argument("--reader", type=Path, default=BUNDLED_READER, help="the answer reader's folder (default the shipped one; 'none': without it)")
    parser.add_argument("--out", type=Path, default=ANSWERER_FILE, help="where --write stores the fit (default rag/answering/answerer.json)")
    parser.add_argument("--write", action="store_true", help="store the fit in --out")
    args = parser.parse_args()
    embedder = E5Embedder(threads=2)
    with tempfile.TemporaryDirectory() as tmp:
        print("reading the tune split's questions:", flush=True)
        reader = None if str(args.reader) == "none" else AnswerReader(args.reader, cached=1_000_000)
        # The reader was trained on the train split's questions: its scores there are not what it
        # gives questions it never saw, so the answerer is fitted on half of the tune split (by a
        # hash of the question) and its margin and threshold chosen on the other half.
        asked = collect("tune", args, embedder, reader, Path(tmp))
        before = read(asked, DEFAULT_SELECTOR)
        print("\nthe shipped selector:\n  " + selection_table(before, "fit") + "\n  " + selection_table(before, "calibrate"))
        report(before, DEFAULT_POLICY, "the shipped abstention policy")
        fitted = fit_selector(before, DEFAULT_SELECTOR.margin)
        print("\nselector weights: " + ", ".join(f"{n} {w:+.3f}" for n, w in zip(CANDIDATE_FEATURES, fitted.weights, strict=True)))
        best_margin, best_rows, best_cited = fitted.margin, before, -1.0
        for margin in (0.5, 1.0, 1.5, 2.0):
            rows = read(asked, replace(fitted, margin=margin))
            tune = [r for r in rows if r["split"] == "calibrate" and r["answerable"]]
            cited = float(np.mean([bool(r["chosen"]) for r in tune]))
            print(f"  margin {margin}: " + selection_table(rows, "calibrate"))
            if cited > best_cited + 0.005:
                best_margin, best_rows, best_cited = margin, rows, cited
        selector = replace(fitted, margin=best_margin)
        print(f"margin chosen on the calibration half: {best_margin}\n  " + selection_table(best_rows, "fit") + "\n  " + selection_table(best_rows, "calibrate"))
        w, b = fit_policy(best_rows)
        policy = AbstentionPolicy(tuple(round(float(v), 4) for v in w), round(float(b), 4), 0.5)
        policy = replace(policy, threshold=threshold(best_rows, policy, args.max_refused))
        print("abstention weights: " + ", ".join(f"{n} {v:+.3f}" for n, v in zip(FEATURES, policy.weights, strict=True)) + f", bias {policy.bias:+.3f}")
        figures = report(best_rows, policy, "the fitted selector and abstention policy")
    if args.write:
        stored = {
            "fitted_on": "training/answerer.py: questions of training/questions.py (XQuAD en/zh CC BY-SA 4.0, "
                         "CMRC2018 CC BY-SA 4.0, HaluEval QA MIT): fitted on half the tune split's questions (the reader trained on the train split), "
                         "margin and threshold on the other half",
            "abstention": {"weights": dict(zip(FEATURES, policy.weights, strict=True)), "bias": policy.bias, "threshold": policy.threshold},
            "selector": {"weights": dict(zip(CANDIDATE_FEATURES, selector.weights, strict=True)), "bias": selector.bias, "margin": selector.margin},
            "figures": figures,
        }
        if reader is None:
            stored["fitted_on"] = str(stored["fitted_on"]) + "; without the answer reader"
        args.out.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
