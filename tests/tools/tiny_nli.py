"""A tiny, randomly initialised NLI cross-encoder built on the spot (no download): a one-layer
BERT with a word-level vocabulary, saved as a Hugging Face sequence-classification model.

``favour`` sets the classifier so one label wins on every input (its weights zero, its bias
large), so that tests know what the real loading and scoring code must conclude; the label
order and names vary to show the judge reads ``id2label`` rather than assuming an order.
"""

from __future__ import annotations

from pathlib import Path

WORDS = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "is", "of", "in", "to", "and", "was", "facebook", "instagram",
    "acquired", "bought", "2012", "google", *"提现一般需要个工作日客服全天在线中国简称是华服务免费",
]


def tiny_nli(folder: Path, *, labels: dict[int, str] | None = None, favour: int | None = None, bias: float = 6.0) -> Path:
    """Build the model in ``folder``: ``labels`` maps output index to name (default the MNLI
    order contradiction/entailment/neutral; one entry for a single-score model); ``favour`` is
    the index made to win (for one output: ``bias`` is its logit, negative for "unsupported")."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    labels = labels or {0: "contradiction", 1: "entailment", 2: "neutral"}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    tokenizer.model_max_length = 64
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=64, num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    if favour is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.zero_()
            model.classifier.bias[favour] = bias
    model.save_pretrained(folder)
    return folder
