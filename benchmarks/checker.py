"""Validate the faithfulness checker (rag/checking/) and fit its support policy.

Three labelled sets, each with a TUNING split (the policy's weights and threshold are fitted on
it) and a REPORTING split (figures are reported on it only, with the tuned threshold):

- **CMRC2018 fact-swap** (Chinese): a sentence of a passage that holds a question's answer span,
  against the same sentence with that span swapped for another answer span of the same kind
  (a number for a number, otherwise a non-number) from the same passage when one exists, else
  from another passage; never one that makes the sentence another true sentence of the passage
  (CMRC answers are sometimes whole sentences). Both sentences lose their parenthetical remarks
  (as answers written from a passage usually do), unless the answer span is inside one. Label 1 for the original, 0 for the swapped one; the passage is the
  context. Tuning: cmrc2018_trial; reporting: cmrc2018_dev.
- **XQuAD en fact-swap**: the same construction on xquad.en.json. Tuning: even articles;
  reporting: odd articles.
- **HaluEval QA** (English): the knowledge paragraph is the context; the right answer is label 1,
  the hallucinated one label 0, with the question given. Tuning: rows 0-4,999; reporting: rows
  5,000-9,999. Answer length alone separates the two (right answers are mostly 1-3 words,
  hallucinated ones full sentences), so two length-controlled versions are reported beside it:
  *restated* (each answer restated with its question as one sentence, ``"<question>: <answer>."``),
  and *length-matched* (the restated items, subsampled so that both labels have the same number
  of items of each word count: length alone is then at chance by construction).
- **Paraphrases** (en, zh): ``benchmarks/data/checker_paraphrases.jsonl``, hand-written
  statements about XQuAD and CMRC2018 passages, reworded the way an assistant answers: one the
  passage supports, one it does not. Tuning: even article indices; reporting: odd ones.

Baselines printed beside the checker on every set: **length only** (shorter = more likely
right; the score is minus the number of words, or characters for Chinese) and **token
overlap** (the share of the statement's tokens found in the context).

Run from the repository root::

    .venv/bin/python benchmarks/checker.py                 # ~5 min on 2 cores (e5 for similarity)
    .venv/bin/python benchmarks/checker.py --no-embedder   # lexical features only, ~1 min
    .venv/bin/python benchmarks/checker.py --per-set 300 --json out.json

Prints AUROC and balanced accuracy (at the threshold fitted on the tuning split) per set and
split, and the fitted policy to paste into rag/checking/ (``DEFAULT_SUPPORT_POLICY``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.logistic import fit  # noqa: E402
from eval.stats import auroc, balanced_accuracy  # noqa: E402
from rag.checking import DEFAULT_SUPPORT_POLICY, FEATURES, LexicalJudge  # noqa: E402
from rag.checking.policy import contradicted_score  # noqa: E402
from rag.text.sentences import split_sentences  # noqa: E402
from rag.text.tokenize import keyword_tokens  # noqa: E402

_DIGIT = re.compile(r"\d")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Item:
    statement: str
    context: str
    label: int  # 1 supported, 0 not
    question: str | None = None


# -- sets ------------------------------------------------------------------------------


def _kind(answer: str) -> str:
    return "number" if _DIGIT.search(answer) else "text"


def _squad_paragraphs(path: Path) -> list[tuple[int, str, list[tuple[str, int]]]]:
    """(article index, context, [(answer text, start)]) per paragraph, first answer of each question."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    out = []
    for a, article in enumerate(data):
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            answers = []
            for qa in paragraph["qas"]:
                if not qa.get("answers"):
                    continue
                text = qa["answers"][0]["text"].strip()
                start = context.find(text, max(0, int(qa["answers"][0]["answer_start"]) - 5))
                if start < 0:
                    start = context.find(text)
                if text and start >= 0:
                    answers.append((text, start))
            out.append((a, context, answers))
    return out


_PARENTHETICAL = re.compile(r"\s*[（(][^()（）]*[)）]")


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def fact_swaps(paragraphs: Sequence[tuple[int, str, list[tuple[str, int]]]], limit: int, seed: int, per_paragraph: int = 2) -> list[Item]:
    """Original sentence (1) and fact-swapped sentence (0) pairs; see the module docstring."""
    rng = random.Random(seed)
    pool: dict[str, list[str]] = defaultdict(list)
    for _a, _context, answers in paragraphs:
        for text, _ in answers:
            pool[_kind(text)].append(text)
    items: list[Item] = []
    order = list(range(len(paragraphs)))
    rng.shuffle(order)
    for p in order:
        _a, context, answers = paragraphs[p]
        spans = [(s.start, s.end) for s in split_sentences(context)]
        made = 0
        used: set[tuple[int, int]] = set()
        for text, start in answers:
            sentence = next(((a, b) for a, b in spans if a <= start and start + len(text) <= b), None)
            if sentence is None or sentence in used:
                continue
            original = context[sentence[0] : sentence[1]]
            if len(original) > 400:
                continue

            def fits(other: str, original: str = original, text: str = text) -> bool:
                return other != text and other not in original and text not in other and other not in text

            local = [o for o, _ in answers if _kind(o) == _kind(text) and fits(o)]
            candidates = local or [o for o in rng.sample(pool[_kind(text)], min(50, len(pool[_kind(text)]))) if fits(o)]
            if not candidates:
                continue
            other = rng.choice(candidates)
            offset = start - sentence[0]
            swapped = original[:offset] + other + original[offset + len(text) :]
            if _bare(swapped) in _bare(context):
                continue  # the answer was the whole sentence: the "swap" is another true sentence
            # Answers rarely quote a sentence whole: drop its parenthetical remarks (on both sides
            # of the pair, so the swap stays the only difference) where the answer is not in one.
            edited, edited_swap = _PARENTHETICAL.sub("", original), _PARENTHETICAL.sub("", swapped)
            if text in edited and other in edited_swap:
                original, swapped = edited, edited_swap
            items.append(Item(original, context, 1))
            items.append(Item(swapped, context, 0))
            used.add(sentence)
            made += 1
            if made == per_paragraph:
                break  # spread over passages
        if len(items) >= 2 * limit:
            break
    return items


def halueval(path: Path, rows: range, limit: int, seed: int) -> dict[str, list[Item]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    rng = random.Random(seed)
    chosen = sorted(rng.sample(list(rows), min(limit, len(rows))))
    raw: list[Item] = []
    restated: list[Item] = []
    for i in chosen:
        row = json.loads(lines[i])
        question = row["question"].strip()
        for answer, label in ((row["right_answer"], 1), (row["hallucinated_answer"], 0)):
            answer = answer.strip()
            raw.append(Item(answer, row["knowledge"], label, question))
            restated.append(Item(f"{question.rstrip('?？')}: {answer.rstrip('.')}.", row["knowledge"], label, question))
    return {"halueval": raw, "halueval-restated": restated, "halueval-length-matched": length_matched(restated, rng)}


def paraphrases(path: Path, data: Path) -> dict[str, dict[str, list[Item]]]:
    """The hand-written set (benchmarks/data/checker_paraphrases.jsonl): per language, tuning
    items from even article indices, reporting items from odd ones."""
    files = {"xquad.en.json": data / "xquad" / "xquad.en.json", "xquad.zh.json": data / "xquad" / "xquad.zh.json",
             "cmrc2018_dev.json": data / "cmrc2018" / "cmrc2018_dev.json"}
    loaded = {name: json.loads(f.read_text(encoding="utf-8"))["data"] for name, f in files.items()}
    out: dict[str, dict[str, list[Item]]] = {"tune": defaultdict(list), "report": defaultdict(list)}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        context = loaded[row["source"]][row["article"]]["paragraphs"][row["paragraph"]]["context"]
        split = "tune" if row["article"] % 2 == 0 else "report"
        out[split][f"paraphrase-{row['language']}"].append(Item(row["statement"], context, int(row["label"]), row["question"]))
    return {k: dict(v) for k, v in out.items()}


def _length(text: str) -> int:
    return len(_CJK.findall(text)) + len(re.findall(r"[A-Za-z0-9]+", text))


def length_matched(items: Sequence[Item], rng: random.Random) -> list[Item]:
    by_length: dict[int, dict[int, list[Item]]] = defaultdict(lambda: {0: [], 1: []})
    for item in items:
        by_length[_length(item.statement)][item.label].append(item)
    out: list[Item] = []
    for groups in by_length.values():
        n = min(len(groups[0]), len(groups[1]))
        out += rng.sample(groups[0], n) + rng.sample(groups[1], n)
    return out


# -- scoring ---------------------------------------------------------------------------


def length_baseline(items: Sequence[Item]) -> np.ndarray:
    return -np.asarray([_length(i.statement) for i in items], dtype=np.float64)


def overlap_baseline(items: Sequence[Item]) -> np.ndarray:
    scores = []
    for item in items:
        tokens = keyword_tokens(item.statement)
        context = set(keyword_tokens(item.context))
        scores.append(sum(t in context for t in tokens) / len(tokens) if tokens else 0.0)
    return np.asarray(scores)


def features(judge: LexicalJudge, items: Sequence[Item], label: str) -> np.ndarray:
    """Per item: the evidence vector (FEATURES) and, last, 1.0 where a contradiction cue
    (rag/checking/cues.py) overrides it."""
    started = time.perf_counter()
    rows = []
    for n, item in enumerate(items):
        verdict = judge.judge([item.statement], [item.context], item.question)[0]
        evidence = verdict.evidence
        assert evidence is not None
        rows.append([*evidence.vector(), 1.0 if evidence.contradiction else 0.0])
        if (n + 1) % 500 == 0:
            print(f"  {label}: {n + 1}/{len(items)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return np.asarray(rows)


# Which way each feature may push the support score (see rag/checking/): coverage, novel
# coverage, sentence coverage, similarity and word pairs can only count for support; a missing
# number or name only against.
SIGNS = np.asarray([{"missing_numbers": -1, "missing_entities": -1}.get(f, 1) for f in FEATURES], dtype=np.float64)


def overridden(scores: np.ndarray, vetoed: np.ndarray, threshold: float) -> np.ndarray:
    """The scores after the judge's contradiction override (rag/checking/judges.py)."""
    return np.asarray([contradicted_score(float(s), threshold) if v else float(s) for s, v in zip(scores, vetoed)])


def mean_best_threshold(scores: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """The threshold with the best balanced accuracy averaged over the sets (each set counts once)."""
    best, best_value = 0.5, -1.0
    for threshold in np.unique(np.round(scores, 3)):
        value = statistics.fmean(
            balanced_accuracy([bool(v) for v in scores[groups == g] >= threshold], [bool(v) for v in y[groups == g]])
            for g in np.unique(groups)
        )
        if value > best_value:
            best, best_value = float(threshold), value
    return best


def checker_sets(data: Path, per_set: int, seed: int = 0, halueval_tune: range = range(0, 5000)) -> dict[str, dict[str, list[Item]]]:
    """The checker's sets by split: CMRC2018 fact swaps (trial | dev), XQuAD en fact swaps (even |
    odd articles), HaluEval QA (``halueval_tune`` | rows 5,000-9,999: raw, restated,
    length-matched), the hand-written paraphrases (even | odd articles)."""
    xquad = _squad_paragraphs(data / "xquad" / "xquad.en.json")
    splits: dict[str, dict[str, list[Item]]] = {"tune": {}, "report": {}}
    splits["tune"]["cmrc-fact-swap"] = fact_swaps(_squad_paragraphs(data / "cmrc2018" / "cmrc2018_trial.json"), per_set, seed)
    splits["report"]["cmrc-fact-swap"] = fact_swaps(_squad_paragraphs(data / "cmrc2018" / "cmrc2018_dev.json"), per_set, seed)
    splits["tune"]["xquad-en-fact-swap"] = fact_swaps([p for p in xquad if p[0] % 2 == 0], per_set, seed)
    splits["report"]["xquad-en-fact-swap"] = fact_swaps([p for p in xquad if p[0] % 2 == 1], per_set, seed)
    halu = data / "halueval_qa" / "dataset_halueval_qa.jsonl"
    splits["tune"] |= halueval(halu, halueval_tune, per_set, seed)
    splits["report"] |= halueval(halu, range(5000, 10000), per_set, seed)
    for split, sets in paraphrases(REPO / "benchmarks" / "data" / "checker_paraphrases.jsonl", data).items():
        splits[split] |= sets
    return splits


def main() -> None:
    parser = argparse.ArgumentParser(description="Validate the faithfulness checker; fit its support policy.")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--per-set", type=int, default=400, help="pairs per set and split (default 400)")
    parser.add_argument("--no-embedder", action="store_true", help="lexical features only (no e5 similarity)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"benchmarks/checker.py: no data folder at {args.data} (use --data)")

    splits = checker_sets(args.data, args.per_set, args.seed)

    embedder = None
    if not args.no_embedder:
        from rag.embedders import E5Embedder

        embedder = E5Embedder()
    judge = LexicalJudge(embedder)
    x: dict[str, dict[str, np.ndarray]] = {s: {} for s in splits}
    for split, sets in splits.items():
        for name, items in sets.items():
            if name == "halueval-length-matched":
                continue  # a subsample of the restated items: features reused below
            x[split][name] = features(judge, items, f"{split}/{name}")
        restated = sets["halueval-restated"]
        index = {id(item): n for n, item in enumerate(restated)}
        x[split]["halueval-length-matched"] = x[split]["halueval-restated"][[index[id(i)] for i in sets["halueval-length-matched"]]]
    vetoed = {s: {n: v[:, -1] > 0 for n, v in named.items()} for s, named in x.items()}
    x = {s: {n: v[:, :-1] for n, v in named.items()} for s, named in x.items()}

    # Fit on the tuning split: every set but the length-matched subsample (its items are in restated).
    fit_sets = [n for n in splits["tune"] if n != "halueval-length-matched"]
    xs = np.vstack([x["tune"][n] for n in fit_sets])
    ys = np.concatenate([[i.label for i in splits["tune"][n]] for n in fit_sets]).astype(np.float64)
    groups = np.concatenate([[n] * len(splits["tune"][n]) for n in fit_sets])
    variants = {"lexical": [i for i, f in enumerate(FEATURES) if f != "similarity"]}
    if embedder is not None:
        variants["lexical + e5 similarity"] = list(range(len(FEATURES)))
    results: dict[str, object] = {"features": FEATURES, "variants": {}}
    policies: list[tuple[str, np.ndarray, float, float | None]] = []
    for variant, columns in variants.items():
        w_part, bias = fit(xs[:, columns], ys, groups, steps=5000, signs=SIGNS[columns])
        weights = np.zeros(len(FEATURES))
        weights[columns] = w_part
        policies.append((f"{variant} (refitted here)", weights, float(bias), None))
    # What users run: the policy shipped in rag/checking/policy.py (fitted on this tuning split when it was chosen).
    policies.append(("lexical, shipped DEFAULT_SUPPORT_POLICY", np.asarray(DEFAULT_SUPPORT_POLICY.weights), DEFAULT_SUPPORT_POLICY.bias,
                     DEFAULT_SUPPORT_POLICY.threshold))
    for variant, weights, bias, fixed in policies:
        fit_vetoed = np.concatenate([vetoed["tune"][n] for n in fit_sets])
        threshold = fixed if fixed is not None else mean_best_threshold(overridden(1 / (1 + np.exp(-(xs @ weights + bias))), fit_vetoed, 0.5), ys, groups)
        entry: dict[str, object] = {
            "weights": [round(float(v), 3) for v in weights], "bias": round(float(bias), 3), "threshold": round(float(threshold), 3), "sets": {}
        }
        results["variants"][variant] = entry  # type: ignore[index]
        print(f"\nFaithfulness checker, {variant}: threshold {entry['threshold']} fitted on the tuning split")
        print(f"{'set':28} {'split':7} {'pairs':>6} {'AUROC':>7} {'bal.acc':>8} {'length AUROC':>13} {'overlap AUROC':>14}")
        for split in ("tune", "report"):
            for name, items in splits[split].items():
                labels = [bool(i.label) for i in items]
                scores = overridden(1 / (1 + np.exp(-(x[split][name] @ weights + bias))), vetoed[split][name], threshold)
                row = {
                    "pairs": len(items) // 2,
                    "auroc": round(auroc(scores.tolist(), labels), 4),
                    "balanced_accuracy": round(balanced_accuracy([bool(s >= threshold) for s in scores], labels), 4),
                    "length_auroc": round(auroc(length_baseline(items).tolist(), labels), 4),
                    "overlap_auroc": round(auroc(overlap_baseline(items).tolist(), labels), 4),
                }
                entry["sets"][f"{split}/{name}"] = row  # type: ignore[index]
                print(
                    f"{name:28} {split:7} {row['pairs']:>6} {row['auroc']:>7.3f} {row['balanced_accuracy']:>8.3f} "
                    f"{row['length_auroc']:>13.3f} {row['overlap_auroc']:>14.3f}"
                )
        print(f"weights={entry['weights']} bias={entry['bias']} threshold={entry['threshold']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
