"""Real e5 vectors of every passage and sentence in ../shared/data, cached on disk.

The texts, by kind (each kind deduplicated, in a fixed order):

- ``passage``: CMRC2018 (dev, trial) and XQuAD (en, zh) contexts, HaluEval QA knowledge;
- ``sentence``: their sentences (benchmarks/scale.py's splitter, six characters or more);
- ``ocnli``: OCNLI premises and hypotheses (train.10k, dev);
- ``halueval_qa``: HaluEval QA questions, right and hallucinated answers.

All are embedded as passages (``passage: `` prefix). Questions of XQuAD and CMRC2018 are kept out:
they are the queries (benchmarks/ann_recall.py). The cache is one ``.npy`` per kind and shard of
2,048 texts under ``--cache`` (default ``~/.cache/rag-cite/real-vectors``), so an interrupted run
resumes; a shard is written whole (temporary file, then rename) and checked against its texts'
hash, so a changed corpus or embedder never reuses stale vectors.

    .venv/bin/python benchmarks/real_vectors.py [--data ../shared/data] [--kinds passage sentence]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scale  # noqa: E402  (the benchmark's own helpers)

KINDS = ("passage", "sentence", "ocnli", "halueval_qa")
SHARD = 2048
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rag-cite" / "real-vectors"


def texts_by_kind(data: Path) -> dict[str, list[str]]:
    passages: list[str] = []
    for name in ("cmrc2018_dev.json", "cmrc2018_trial.json"):
        for article in json.loads((data / "cmrc2018" / name).read_text(encoding="utf-8"))["data"]:
            passages.extend(p["context"] for p in article["paragraphs"])
    for lang in ("en", "zh"):
        for article in json.loads((data / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]:
            passages.extend(p["context"] for p in article["paragraphs"])
    halueval = [json.loads(line) for line in (data / "halueval_qa" / "dataset_halueval_qa.jsonl").open(encoding="utf-8")]
    passages.extend(row["knowledge"] for row in halueval)
    pool = scale.sentences(data)
    ocnli: list[str] = []
    for name in ("train.10k.json", "dev.json"):
        for line in (data / "ocnli" / name).open(encoding="utf-8"):
            row = json.loads(line)
            ocnli.extend((row["sentence1"], row["sentence2"]))
    qa = [text for row in halueval for text in (row["question"], row["right_answer"], row["hallucinated_answer"])]
    kinds = {"passage": passages, "sentence": pool["zh"] + pool["en"], "ocnli": ocnli, "halueval_qa": qa}
    return {kind: list(dict.fromkeys(t.strip() for t in texts if t.strip())) for kind, texts in kinds.items()}


def _digest(texts: list[str], model: str) -> str:
    h = hashlib.sha256(model.encode())
    for text in texts:
        h.update(text.encode("utf-8") + b"\0")
    return h.hexdigest()[:16]


def load_or_embed(data: Path, kinds: tuple[str, ...] = KINDS, cache: Path = DEFAULT_CACHE, threads: int = 2,
                  quiet: bool = False) -> dict[str, tuple[list[str], np.ndarray]]:
    """Texts and their e5 passage vectors, by kind, embedding only the shards not cached yet."""
    from rag.embedders import E5Embedder

    embedder = E5Embedder(threads=threads)
    model = embedder.info.model
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    all_texts = texts_by_kind(data)
    for kind in kinds:
        texts = all_texts[kind]
        parts = []
        started = time.perf_counter()
        for lo in range(0, len(texts), SHARD):
            shard = texts[lo : lo + SHARD]
            path = cache / f"{kind}-{lo // SHARD:04d}-{_digest(shard, model)}.npy"
            if not path.exists():
                vectors = embedder.embed_passages(shard).astype(np.float32)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, vectors, allow_pickle=False)
                os.replace(tmp, path)
                if not quiet:
                    done = min(lo + SHARD, len(texts))
                    print(f"{kind}: {done}/{len(texts)} embedded, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            parts.append(np.load(path, allow_pickle=False))
        out[kind] = (texts, np.concatenate(parts) if parts else np.zeros((0, embedder.DIM), np.float32))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    got = load_or_embed(args.data, tuple(args.kinds), args.cache, args.threads)
    for kind, (texts, vectors) in got.items():
        print(f"{kind}: {len(texts)} texts, vectors {vectors.shape}")
    print(f"total: {sum(len(t) for t, _ in got.values())} real vectors")


if __name__ == "__main__":
    main()
