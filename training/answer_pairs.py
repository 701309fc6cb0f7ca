"""(sentence, question) pairs for the answer reader (issue 15): does this sentence hold the answer?

    .venv/bin/python -m training.answer_pairs      # ~20 s: training/out/answer-pairs/{train,tune}.jsonl

The sentences are the units the extractive answerer cites (rag.answering.extractive's clauses),
cut from the paragraphs of training/pairs.py's splits (XQuAD en/zh and CMRC2018, CC BY-SA 4.0;
HaluEval QA, MIT). For each question with an answer in its paragraph:

- ``holds``: the sentences that hold the answer text (label 1);
- ``same-passage``: up to three other sentences of its paragraph (label 0: the hard negatives
  the answerer meets, sentences that share the question's topic and words);
- ``other-passage``: one sentence of another paragraph (label 0);
- ``cross-lingual``: the parallel XQuAD question in the other language against the same
  sentences (labels as above);
- ``adversarial``: the question with a name, number or date changed for one the paragraph lacks
  (training/questions.py's edits) against the sentence that answered the original (label 0);
- a quarter of the Chinese questions are written in Traditional characters (OpenCC), so a
  question in either script reads the same.

Training reuses training/train_judge.py (``--pairs training/out/answer-pairs``): the premise is the
sentence, the hypothesis the question (``query: QUESTION``, ``passage: SENTENCE``, as e5 reads them).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answering.extractive import _clauses  # noqa: E402
from training.pairs import Pair, Paragraph, _names, paragraphs, write_pairs  # noqa: E402
from training.questions import _edited  # noqa: E402


def _sentences(text: str) -> list[str]:
    return [text[a:b].strip() for a, b in _clauses(text) if text[a:b].strip()]


def _for_question(question: str, answer: str, sentences: Sequence[str], other: Sequence[str], family: str,
                  language: str, key: str, rng: random.Random) -> Iterator[Pair]:
    holding = [s for s in sentences if answer in s]
    if not holding or len(holding) == len(sentences):
        return
    for s in holding[:2]:
        yield Pair(s, question, 1, family, language, key)
    rest = [s for s in sentences if answer not in s]
    for s in rng.sample(rest, min(3, len(rest))):
        yield Pair(s, question, 0, family if family == "cross-lingual" else "same-passage", language, key)
    if other:
        yield Pair(rng.choice(other), question, 0, "other-passage", language, key)


def build(data: Path, split: str, *, seed: int = 0, halueval: int = 1500) -> list[Pair]:
    import opencc

    traditional = opencc.OpenCC("s2t").convert
    rng = random.Random(seed)
    found = paragraphs(data, split)
    found["halueval"] = found["halueval"][:halueval]
    twins = {p.key.replace("xquad-zh", "xquad-en"): p for p in found["xquad-zh"]}
    pairs: list[Pair] = []
    for source, ps in found.items():
        pool_sentences = [s for p in ps[:400] for s in _sentences(p.text)]
        names_pool = [n for p in ps[:400] for n in _names(p.text, ps[0].language if ps else "en")][:3000]
        for p in ps:
            sentences = _sentences(p.text)
            other = [s for s in rng.sample(pool_sentences, min(20, len(pool_sentences))) if s not in sentences]
            twin: Paragraph | None = twins.get(p.key) if source == "xquad-en" else None
            for n, (question, answer, start) in enumerate(p.qas):
                if start == -2 or not answer or answer not in p.text:
                    continue
                asked = question
                if p.language == "zh" and rng.random() < 0.25:
                    asked = traditional(question)
                pairs += _for_question(asked, answer, sentences, other, source, p.language, p.key, rng)
                if twin is not None and n < len(twin.qas) and twin.qas[n][1] in twin.text:
                    # the English question against the Chinese paragraph, and the Chinese one against the English
                    pairs += _for_question(question, twin.qas[n][1], _sentences(twin.text), [], "cross-lingual", "en-zh", twin.key, rng)
                    pairs += _for_question(twin.qas[n][0], answer, sentences, [], "cross-lingual", "zh-en", p.key, rng)
                changed = _edited(question, p.language, names_pool, p.text, rng)
                holding = [s for s in sentences if answer in s]
                if changed and holding:
                    pairs.append(Pair(holding[0], changed, 0, "adversarial", p.language, p.key))
    rng.shuffle(pairs)
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "training" / "out" / "answer-pairs")
    parser.add_argument("--halueval", type=int, default=1500, help="HaluEval QA rows used per split (default 1500)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "tune"):
        pairs = build(args.data, split, halueval=args.halueval)
        write_pairs(pairs, args.out / f"{split}.jsonl")
        families: dict[str, list[int]] = {}
        for pair in pairs:
            families.setdefault(pair.family, [0, 0])[pair.label] += 1
        print(f"{split}: {len(pairs)} pairs; " + ", ".join(f"{f} {neg}/{pos}" for f, (neg, pos) in sorted(families.items())) + " (negative/positive)")


if __name__ == "__main__":
    main()
