"""Issue 15: the learned sentence selector and abstention policy (rag/answering/answerer.json, fitted
by training/answerer.py), the answer reader's loading, the names an edited question changes, and questions in the other Chinese script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answering.policy import ANSWERER_FILE, DEFAULT_POLICY, DEFAULT_SELECTOR, FEATURES, load_answerer
from rag.answering.selection import CANDIDATE_FEATURES, SentenceSelector
from rag.text.script import in_index_script, script_variants
from rag.text.terms import names


def test_the_shipped_answerer_file_has_every_weight_and_its_provenance() -> None:
    data = json.loads(ANSWERER_FILE.read_text(encoding="utf-8"))
    assert set(data["abstention"]["weights"]) == set(FEATURES)
    assert set(data["selector"]["weights"]) == set(CANDIDATE_FEATURES)
    assert data["fitted_on"]
    assert DEFAULT_POLICY.weights == tuple(data["abstention"]["weights"][n] for n in FEATURES)
    assert DEFAULT_SELECTOR.weights == tuple(data["selector"]["weights"][n] for n in CANDIDATE_FEATURES)
    assert 0 < DEFAULT_POLICY.threshold < 1 and DEFAULT_SELECTOR.margin > 0


def test_a_broken_answerer_file_is_a_clear_error(tmp_path: Path) -> None:
    data = json.loads(ANSWERER_FILE.read_text(encoding="utf-8"))
    del data["selector"]["weights"]["echo"]
    path = tmp_path / "answerer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="selector: no weight for echo"):
        load_answerer(path)
    path.write_text(json.dumps({"abstention": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match="not an answerer file"):
        load_answerer(path)
    with pytest.raises(ValueError, match="needs 15 weights"):
        SentenceSelector((1.0, 2.0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("When did the Warsaw Stock Exchange reopen in 1991?", ["Warsaw Stock Exchange", "1991"]),
        ("What year did Rhine die?", ["Rhine"]),
        ("How many Apple stores are in New York City?", ["Apple", "New York City"]),
        ("What is the capital?", []),  # a sentence's first word is not a name
        ("马化腾在1998年创立了腾讯吗", ["马化腾", "腾讯", "1998"]),
        ("Coinbase的客服电话是多少", ["Coinbase"]),
        ("客服是免费的吗", []),
    ],
)
def test_names_are_what_an_edited_question_changes(text: str, expected: list[str]) -> None:
    assert names(text) == expected


SIMPLIFIED = {"私钥": 3, "被盗": 1, "怎么办": 2, "客服": 9}
TRADITIONAL = {"私鑰": 3, "被盜": 1, "怎麼辦": 2, "客服": 9}


def test_a_question_meets_the_index_in_its_chinese_script() -> None:
    assert in_index_script("私鑰被盜了怎麼辦", lambda t: SIMPLIFIED.get(t, 0)) == "私钥被盗了怎么办"
    assert in_index_script("私钥被盗了怎么办", lambda t: TRADITIONAL.get(t, 0)) == "私鑰被盜了怎麼辦"
    assert in_index_script("私钥被盗了怎么办", lambda t: SIMPLIFIED.get(t, 0)) == "私钥被盗了怎么办"  # already there
    assert in_index_script("客服在哪", lambda t: SIMPLIFIED.get(t, 0)) == "客服在哪"  # a tie keeps it as written
    assert script_variants("How do I reset 2FA?") == ["How do I reset 2FA?"]


@pytest.mark.model
def test_a_reader_is_loaded_only_as_its_config_describes(tmp_path: Path) -> None:
    """A reader folder as training/export_reader.py writes it (here a 1-layer untrained network):
    loaded and scoring; refused when its weights are not the ones its config names, or missing."""
    from safetensors.torch import save_file

    from rag.answering.reader import AnswerReader
    from rag.errors import ConfigError
    from rag.index.format import file_sha256
    from rag.models.e5_file import E5_SHA256, read_e5
    from rag.models.judge_model import PairClassifier
    from training.train_judge import trainable_state

    folder = tmp_path / "reader"
    folder.mkdir()
    save_file(trainable_state(PairClassifier(1, read_e5())), str(folder / "reader.safetensors"))
    config = {"layers": 1, "max_tokens": 64, "base_sha256": E5_SHA256, "sha256": file_sha256(folder / "reader.safetensors")}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    scores = AnswerReader(folder).scores("客服几点上班?", ["客服每天早上九点上班。", "比特币是一种加密货币。"])
    assert scores.shape == (2,) and ((scores > 0) & (scores < 1)).all()
    weights = folder / "reader.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="sha256 differs"):
        AnswerReader(folder).load()
    with pytest.raises(ConfigError, match="no answer reader in"):
        AnswerReader(tmp_path / "none").load()


def test_the_reader_reads_only_the_sentences_ranked_first(hash_embedder: object) -> None:
    from rag.answering.extractive import ExtractiveGenerator
    from rag.domain import Passage, StoredChunk

    class Counting:
        max_sentences = 2

        def __init__(self) -> None:
            self.read: list[str] = []

        def scores(self, question: str, sentences: list[str]) -> list[float]:
            self.read += sentences
            return [0.3 + 0.1 * n for n in range(len(sentences))]  # the last one read is the reader's pick

    class Statistics:
        n_chunks = 1
        ascii_vocab_share = 0.0

        def document_frequency(self, term: str) -> int:
            return 1

    text = "客服每天早上九点上班。客服可以帮助用户。比特币是一种加密货币。交易所有很多种。"
    chunk = StoredChunk(0, "c", "s", "faq.txt", 0, 0, len(text), text, "", None)
    reader = Counting()
    only_reader = SentenceSelector(tuple(5.0 if n == "reader" else 0.0 for n in CANDIDATE_FEATURES), 0.0, 0.5)
    generator = ExtractiveGenerator(hash_embedder, Statistics(), selector=only_reader, reader=reader)  # type: ignore[arg-type]
    selection = generator.select("客服什么时候上班?", [Passage(chunk, 1.0, 1)])
    assert len(reader.read) == 2 and len(selection.read) == 4  # two of the four sentences read
    best = min(selection.chosen, key=lambda c: c.rank)
    assert best.text == reader.read[-1]
    assert selection.evidence.reader == pytest.approx(0.4)
