"""Answer correctness: exact match, token F1 and containment, against one or more references.

Each (prediction, reference) pair picks its own scoring rules, so a mixed Chinese/English set
needs no language flag:

- a pair where the reference or the prediction contains CJK characters is scored the CMRC2018
  way (a Chinese answer "丢了 308分" holds the reference "308" only when segmented so), following the official
  ``cmrc2018_evaluate.py`` (ymcui/cmrc2018, ``squad-style-data/``, v5): ``mixed_segmentation``
  (lowercase, strip; each Chinese character is one token, the runs of other characters between
  them are word-tokenised; the script's punctuation list is dropped), ``remove_punctuation``,
  ``find_lcs`` (longest common *substring* of the two token lists), ``calc_f1_score`` (precision
  = lcs / prediction tokens, recall = lcs / reference tokens) and ``calc_em_score`` (equality after
  ``remove_punctuation``, so spaces still count);
- any other pair is scored the SQuAD v1.1 way, following the official ``evaluate-v1.1.py``:
  ``normalize_answer`` (lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse
  whitespace), ``f1_score`` (bag-of-tokens overlap with ``Counter``) and ``exact_match_score``.

Both scripts take the maximum over the references; so do ``exact_match`` and ``f1`` here.

Two departures, both forced by running offline without NLTK data: the CMRC script word-tokenises
the non-Chinese runs with ``nltk.word_tokenize``; ``_word_tokenize`` ports the rules of NLTK's
Treebank-style tokenizer that still matter once the script's punctuation is gone (whitespace,
``, ; ? ! % $ & @ #``, brackets, double quotes, a run-final period, English contractions), but not
punkt's sentence splitting, so a period is split off only at the end of a run. And the CJK test
that picks the rules for a reference covers all CJK ideographs, while segmentation keeps the
script's own range (U+4E00..U+9FA5).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from eval.metrics import MetricResult, nan

__all__ = [
    "answer_contains",
    "exact_match",
    "f1",
    "find_lcs",
    "has_cjk",
    "mixed_segmentation",
    "normalize_answer",
    "remove_punctuation",
]

CMRC = "cmrc2018"
SQUAD = "squad-v1.1"
NO_REFERENCES = "no reference answers"

# The script's list, verbatim. It compares one character at a time, so the two-character
# entry '……' never matches and a lone '…' is kept: so it is here.
_CMRC_PUNCTUATION: tuple[str, ...] = (
    "-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
    "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "……", "·", "、",
    "「", "」", "（", "）", "－", "～", "『", "』",
)  # fmt: skip
_CMRC_CHINESE = re.compile(r"[\u4e00-\u9fa5]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")

_SQUAD_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")

# NLTK's Treebank-style word tokenizer, the rules that survive the CMRC punctuation removal.
_TREEBANK_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'^"'), "``"),
    (re.compile(r'([ (\[{<])("|\'{2})'), r"\1 `` "),
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}"), r" \g<0> "),
    (re.compile(r"[;@#$%&?!]"), r" \g<0> "),
    (re.compile(r"([^.])(\.)([\]\)}>\"']*)\s*$"), r"\1 \2 \3 "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[\]\[(){}<>]"), r" \g<0> "),
    (re.compile(r"--"), r" -- "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"([^' ])('[sSmMdD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
)

# A whitespace character for str.split(), so it never occurs inside a token: a safe joiner
# for testing whether one token sequence occurs inside another with a plain substring search.
_SEP = "\x1f"


def has_cjk(text: str) -> bool:
    """True when ``text`` contains a CJK ideograph (which makes it a CMRC2018-style reference)."""
    return _CJK.search(text) is not None


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 ``normalize_answer``: lowercase, drop ASCII punctuation, drop a/an/the, collapse spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _SQUAD_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _word_tokenize(text: str) -> list[str]:
    text = f" {text} "
    for pattern, replacement in _TREEBANK_RULES:
        text = pattern.sub(replacement, text)
    return text.split()


def mixed_segmentation(text: str, rm_punc: bool = False) -> list[str]:
    """CMRC2018 ``mixed_segmentation``: Chinese characters one by one, other runs word-tokenised.

    With ``rm_punc`` the script's punctuation characters are dropped; otherwise each is a token
    of its own, like a Chinese character.
    """
    segments: list[str] = []
    run = ""
    for char in text.lower().strip():
        if rm_punc and char in _CMRC_PUNCTUATION:
            continue
        if _CMRC_CHINESE.match(char) or char in _CMRC_PUNCTUATION:
            if run:
                segments.extend(_word_tokenize(run))
                run = ""
            segments.append(char)
        else:
            run += char
    if run:
        segments.extend(_word_tokenize(run))
    return segments


def remove_punctuation(text: str) -> str:
    """CMRC2018 ``remove_punctuation``: lowercase, strip, drop the script's punctuation (spaces stay)."""
    return "".join(char for char in text.lower().strip() if char not in _CMRC_PUNCTUATION)


def find_lcs(s1: Sequence[str], s2: Sequence[str]) -> tuple[list[str], int]:
    """CMRC2018 ``find_lcs``: the longest common contiguous run of tokens and its length.

    On ties the run ending first in ``s1`` wins, as in the script (which passes the reference
    as ``s1`` and the prediction as ``s2``). One DP row is kept instead of the full table.
    """
    best = end = 0
    previous = [0] * (len(s2) + 1)
    for i, a in enumerate(s1):
        current = [0] * (len(s2) + 1)
        for j, b in enumerate(s2):
            if a == b:
                current[j + 1] = previous[j] + 1
                if current[j + 1] > best:
                    best, end = current[j + 1], i + 1
        previous = current
    return list(s1[end - best : end]), best


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    return f"{_SEP}{_SEP.join(needle)}{_SEP}" in f"{_SEP}{_SEP.join(haystack)}{_SEP}"


def _f1_steps(prediction: str, reference: str) -> dict[str, Any]:
    if has_cjk(reference) or has_cjk(prediction):
        ref_tokens = mixed_segmentation(reference, rm_punc=True)
        pred_tokens = mixed_segmentation(prediction, rm_punc=True)
        overlap, n_same = find_lcs(ref_tokens, pred_tokens)
        style = CMRC
    else:
        ref_tokens = normalize_answer(reference).split()
        pred_tokens = normalize_answer(prediction).split()
        common = Counter(pred_tokens) & Counter(ref_tokens)
        overlap, n_same = sorted(common.elements()), sum(common.values())
        style = SQUAD
    precision = n_same / len(pred_tokens) if n_same else 0.0
    recall = n_same / len(ref_tokens) if n_same else 0.0
    score = 2 * precision * recall / (precision + recall) if n_same else 0.0
    return {
        "reference": reference,
        "style": style,
        "prediction_tokens": pred_tokens,
        "reference_tokens": ref_tokens,
        "overlap": overlap,
        "overlap_len": n_same,
        "precision": precision,
        "recall": recall,
        "score": score,
    }


def _em_steps(prediction: str, reference: str) -> dict[str, Any]:
    if has_cjk(reference) or has_cjk(prediction):
        style, norm_pred, norm_ref = CMRC, remove_punctuation(prediction), remove_punctuation(reference)
    else:
        style, norm_pred, norm_ref = SQUAD, normalize_answer(prediction), normalize_answer(reference)
    return {
        "reference": reference,
        "style": style,
        "normalised_prediction": norm_pred,
        "normalised_reference": norm_ref,
        "score": 1.0 if norm_pred == norm_ref else 0.0,
    }


def _contains_steps(prediction: str, reference: str) -> dict[str, Any]:
    if has_cjk(reference) or has_cjk(prediction):
        style = CMRC
        ref_tokens = mixed_segmentation(reference, rm_punc=True)
        pred_tokens = mixed_segmentation(prediction, rm_punc=True)
    else:
        style = SQUAD
        ref_tokens = normalize_answer(reference).split()
        pred_tokens = normalize_answer(prediction).split()
    return {
        "reference": reference,
        "style": style,
        "prediction_tokens": pred_tokens,
        "reference_tokens": ref_tokens,
        "score": 1.0 if ref_tokens and _contains(pred_tokens, ref_tokens) else 0.0,
    }


def _best_over_references(
    name: str,
    prediction: str,
    references: Sequence[str],
    per_reference: Callable[[str, str], dict[str, Any]],
) -> MetricResult:
    if isinstance(references, str):
        raise TypeError(f"{name}: references must be a sequence of strings, not one string")
    if not references:
        return nan(name, NO_REFERENCES, prediction=prediction, per_reference=[])
    rows = [per_reference(prediction, reference) for reference in references]
    best = max(range(len(rows)), key=lambda i: rows[i]["score"])  # the first on ties
    steps = {
        "prediction": prediction,
        "per_reference": rows,
        "best_index": best,
        "best_reference": rows[best]["reference"],
    }
    return MetricResult(name, float(rows[best]["score"]), None, steps)


def exact_match(prediction: str, references: Sequence[str]) -> MetricResult:
    """1.0 when the prediction equals some reference after normalisation, else 0.0.

    SQuAD v1.1 ``exact_match_score`` (``normalize_answer`` on both sides) for a non-CJK
    reference, CMRC2018 ``calc_em_score`` (``remove_punctuation`` on both sides) for a CJK one;
    the maximum over references. NaN "no reference answers" when there are none. ``steps``
    lists the normalised strings per reference and the best-matching reference.
    """
    return _best_over_references("exact_match", prediction, references, _em_steps)


def f1(prediction: str, references: Sequence[str]) -> MetricResult:
    """Token F1 between the prediction and its best-matching reference.

    Non-CJK reference: SQuAD v1.1 ``f1_score``, the bag-of-tokens overlap of the
    ``normalize_answer`` tokens. CJK reference: CMRC2018 ``calc_f1_score``, the longest common
    contiguous run of ``mixed_segmentation`` tokens (``find_lcs``) over each side's length. In
    both, F1 = 2PR / (P + R) and 0.0 when nothing is shared (an empty prediction scores 0.0).
    The maximum over references; NaN "no reference answers" when there are none. ``steps``
    shows both token lists, the overlap, P, R and F1 per reference, and the best reference.
    """
    return _best_over_references("f1", prediction, references, _f1_steps)


def answer_contains(prediction: str, references: Sequence[str]) -> MetricResult:
    """1.0 when some normalised reference occurs, token for token, inside the normalised prediction.

    Normalisation per pair as in ``f1``: the ``normalize_answer`` tokens when neither side has CJK
    characters, the ``mixed_segmentation`` tokens (punctuation and spaces gone) otherwise.
    Matching whole tokens means "art" is not found in "artist". A reference that normalises to
    nothing (say "the") never matches. NaN "no reference answers" when there are none.

    This is the meaningful correctness figure for our default extractive generator: it answers
    with whole sentences taken from the passages, so exact match is near 0 by design and F1 is
    held down by the extra words, while containment asks whether the answer is in there at all.
    """
    return _best_over_references("answer_contains", prediction, references, _contains_steps)
