"""Labelled (passage window, statement) pairs for the learned judge, built from ../shared/data.

Sources and splits (never mixed: the judge is trained on ``train``, its threshold fixed on
``tune``, its figures reported on ``report``):

| source | train | tune | report |
|---|---|---|---|
| CMRC2018 (zh, CC BY-SA 4.0) | trial, articles i % 4 != 0 | trial, i % 4 == 0 | dev |
| XQuAD en + zh (CC BY-SA 4.0) | articles i % 4 == 0 | i % 4 == 2 | odd articles |
| HaluEval QA (en, MIT) | rows 0-3,999 | rows 4,000-4,999 | rows 5,000-9,999 |

OCNLI is non-commercial: it is only ever evaluated on (``training/evaluate.py``), never built here.

Families (``Pair.family``); supported (label 1) unless marked 0:

- ``copy``: a passage sentence against a window of one to three sentences that holds it;
- ``clause``: the sentence's leading clauses (a part of what it says);
- ``combine``: two sentences of one passage joined into one statement, against both;
- ``qa``: "question: answer." against the answer's sentence (XQuAD, CMRC2018);
- ``cross``: XQuAD's parallel translation: an English sentence against the Chinese window that
  says it, and the reverse (English answers about Chinese passages);
- ``halueval``: HaluEval's right answer, restated with its question, against its knowledge;
- ``restate``: the question restated as the statement its answer makes (training/restate.py:
  crowd-written rewording), against the answer's window; ``cross-restate`` the same across the
  parallel XQuAD languages; 0 ``restate-wrong`` / ``cross-restate-wrong`` (another answer of the
  passage in its place), ``restate-negation``, ``restate-role``;
- 0 ``number``, ``date``, ``entity``, ``near-entity`` (one character or word of a name changed:
  上海黄金期货交易所 for 上海期货交易所), ``negation``, ``antonym``, ``role`` (two names exchanged),
  ``addition`` (a clause from another passage added), ``span`` (an answer span swapped for
  another of the same passage), ``qa-wrong``, ``cross-swap`` (a swap inside a ``cross``
  statement), ``cross-other`` (a sentence of another paragraph), ``halueval-hallucinated``.

A changed statement whose text still occurs in the passage is dropped (it would be true).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.text.sentences import split_sentences
from training.lexicon import ANTONYMS_EN, ANTONYMS_ZH, NEGATE_EN, NEGATE_ZH
from training.restate import declarative

__all__ = ["Pair", "Paragraph", "build", "paragraphs", "write_pairs"]

SPLITS = ("train", "tune", "report")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PARENTHETICAL = re.compile(r"\s*[（(][^()（）]*[)）]")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w])|(?<=[^\W\d_])\d+(?=[^\W\d_])")
_EN_NAME = re.compile(r"(?<![\w'])(?:[A-Z][a-z]+(?:\s+(?:of|de|the|von|van)\s+)?)(?:\s*[A-Z][a-z]+)*")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_ZH_NAME_TAGS = {"nr", "ns", "nt", "nz", "nrt", "nrfg"}


@dataclass(frozen=True)
class Paragraph:
    source: str  # "cmrc", "xquad-en", "xquad-zh", "halueval"
    key: str  # unique: source, article, paragraph
    language: str
    text: str
    qas: tuple[tuple[str, str, int], ...] = ()  # (question, answer, answer start)


@dataclass(frozen=True)
class Pair:
    premise: str
    hypothesis: str
    label: int
    family: str
    language: str  # of the hypothesis; "en-zh" for an English statement about a Chinese passage
    key: str  # the paragraph it was built from


def _squad(path: Path, source: str, language: str, keep: callable) -> list[Paragraph]:  # type: ignore[valid-type]
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    out = []
    for a, article in enumerate(data):
        if not keep(a):  # type: ignore[operator]
            continue
        for p, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            qas = []
            for qa in paragraph["qas"]:
                if qa.get("answers"):
                    answer = qa["answers"][0]
                    qas.append((qa["question"], answer["text"].strip(), int(answer["answer_start"])))
            out.append(Paragraph(source, f"{source}:{a}:{p}", language, context, tuple(qas)))
    return out


def paragraphs(data: Path, split: str) -> dict[str, list[Paragraph]]:
    """The paragraphs of each source in ``split`` (see the module docstring)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    xquad = {"train": lambda a: a % 4 == 0, "tune": lambda a: a % 4 == 2, "report": lambda a: a % 2 == 1}[split]
    if split == "report":
        cmrc = _squad(data / "cmrc2018" / "cmrc2018_dev.json", "cmrc", "zh", lambda a: True)
    else:
        trial = {"train": lambda a: a % 4 != 0, "tune": lambda a: a % 4 == 0}[split]
        cmrc = _squad(data / "cmrc2018" / "cmrc2018_trial.json", "cmrc", "zh", trial)
    rows = {"train": range(0, 4000), "tune": range(4000, 5000), "report": range(5000, 10000)}[split]
    halueval = []
    with (data / "halueval_qa" / "dataset_halueval_qa.jsonl").open(encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i in rows:
                row = json.loads(line)
                halueval.append(Paragraph("halueval", f"halueval:{i}", "en", row["knowledge"],
                                          ((row["question"], row["right_answer"], -1), (row["question"], row["hallucinated_answer"], -2))))
    return {
        "cmrc": cmrc,
        "xquad-en": _squad(data / "xquad" / "xquad.en.json", "xquad-en", "en", xquad),
        "xquad-zh": _squad(data / "xquad" / "xquad.zh.json", "xquad-zh", "zh", xquad),
        "halueval": halueval,
    }


# -- sentences and windows ----------------------------------------------------------------


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in split_sentences(text)]


def _usable(sentence: str) -> bool:
    return 12 <= len(sentence) <= 320 and len(re.findall(r"\w", sentence)) >= 8


def _window(text: str, spans: Sequence[tuple[int, int]], index: int, rng: random.Random, limit: int = 420) -> str:
    """One to three consecutive sentences holding sentence ``index``, cut to ``limit`` characters."""
    before, after = rng.choice([(0, 0), (0, 0), (1, 0), (0, 1), (1, 1)])
    a = max(0, index - before)
    b = min(len(spans) - 1, index + after)
    window = text[spans[a][0] : spans[b][1]]
    if len(window) > limit:
        window = text[spans[index][0] : spans[index][1]]
    return window.strip()


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


# -- changes that make a statement unsupported ---------------------------------------------


def _number(s: str, rng: random.Random) -> str | None:
    found = list(_NUMBER.finditer(s))
    if not found:
        return None
    m = rng.choice(found)
    raw = m.group().replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    if 1000 <= value <= 2100 and raw.isdigit():
        new = str(int(value) + rng.choice([-1, 1]) * rng.randint(1, 12))
    elif raw.isdigit():
        v = int(raw)
        new = str(v + rng.choice([-1, 1]) * max(1, rng.randint(1, max(1, v // 3 + 1)))) if v > 1 else str(v + rng.randint(1, 9))
        if new.startswith("-") or new == raw:
            new = str(v + 1)
    else:
        new = f"{value * rng.choice([0.5, 1.5, 2, 0.8]):.{len(raw.split('.')[-1])}f}"
    if new == raw:
        return None
    return s[: m.start()] + new + s[m.end() :]


def _date(s: str, rng: random.Random) -> str | None:
    months = [m for m in _MONTHS if re.search(rf"\b{m}\b", s)]
    if months:
        old = rng.choice(months)
        return re.sub(rf"\b{old}\b", rng.choice([m for m in _MONTHS if m != old]), s, count=1)
    zh = list(re.finditer(r"(\d{1,2})([月日号])", s))
    if zh:
        m = rng.choice(zh)
        top = 12 if m.group(2) == "月" else 28
        value = int(m.group(1))
        new = rng.choice([v for v in range(1, top + 1) if v != value])
        return s[: m.start(1)] + str(new) + s[m.end(1) :]
    return None


def _names(s: str, language: str) -> list[str]:
    if language == "zh":
        import rjieba

        return list(dict.fromkeys(w for w, tag in rjieba.tag(s) if tag in _ZH_NAME_TAGS and len(w) >= 2))
    names = []
    for m in _EN_NAME.finditer(s):
        before = s[: m.start()].rstrip()
        if before and before[-1] not in ".!?\"“":
            names.append(m.group().strip())
    return list(dict.fromkeys(n for n in names if len(n) > 2))


def _entity(s: str, language: str, pool: Sequence[str], rng: random.Random) -> str | None:
    names = _names(s, language)
    if not names or not pool:
        return None
    old = rng.choice(names)
    candidates = [p for p in rng.sample(list(pool), min(40, len(pool))) if p != old and p not in s and old not in p]
    if not candidates:
        return None
    return s.replace(old, rng.choice(candidates), 1)


def _near_entity(s: str, language: str, rng: random.Random) -> str | None:
    names = [n for n in _names(s, language) if (len(n) >= 3 if language == "zh" else " " in n)]
    if not names:
        return None
    old = rng.choice(names)
    if language == "zh":
        at = rng.randrange(1, len(old))
        new = old[:at] + rng.choice("国际中华黄金新大东西南北市省集团") + old[at:] if rng.random() < 0.6 else old[:at] + old[at + 1 :]
    else:
        words = old.split()
        at = rng.randrange(len(words))
        words[at] = rng.choice(["North", "New", "South", "Great", "Saint", "Royal", "National", "United", "East", "West"])
        new = " ".join(words)
    return None if new == old else s.replace(old, new, 1)


def _negation(s: str, language: str, rng: random.Random) -> str | None:
    rules = list(NEGATE_ZH if language == "zh" else NEGATE_EN)
    rng.shuffle(rules)
    if language == "zh":
        import rjieba

        tokens = rjieba.cut(s)
        for pattern, replacement in rules:
            if pattern in tokens:  # a whole word: 是 in 是否 or 不 in 不久 is not a negation
                at = tokens.index(pattern)
                return "".join(tokens[:at] + [replacement] + tokens[at + 1 :])
        return None
    for pattern, replacement in rules:
        if re.search(pattern, s):
            return re.sub(pattern, replacement, s, count=1)
    return None


def _antonym(s: str, language: str, rng: random.Random) -> str | None:
    pairs = ANTONYMS_ZH if language == "zh" else ANTONYMS_EN
    options = []
    for a, b in pairs:
        for old, new in ((a, b), (b, a)):
            if language == "zh":
                if old in s and new not in s:
                    options.append((len(old), old, new))
            elif re.search(rf"\b{re.escape(old)}\b", s):
                options.append((len(old), old, new))
    if not options:
        return None
    longest = max(o[0] for o in options)
    _, old, new = rng.choice([o for o in options if o[0] >= min(longest, 2)])
    if language == "zh":
        return s.replace(old, new, 1)
    return re.sub(rf"\b{re.escape(old)}\b", new, s, count=1)


def _role(s: str, language: str, rng: random.Random) -> str | None:
    names = [n for n in _names(s, language) if s.count(n) == 1]
    names = [n for n in names if not any(n != o and (n in o or o in n) for o in names)]
    if len(names) < 2:
        return None
    a, b = rng.sample(names, 2)
    return s.replace(a, "\x00").replace(b, a).replace("\x00", b)


def _addition(s: str, language: str, others: Sequence[str], rng: random.Random) -> str | None:
    if not others:
        return None
    other = rng.choice(others).strip()
    clause = re.split(r"[，,；;。.!?！？]", other)[0].strip()
    if len(clause) < 6:
        return None
    body = s.rstrip("。.!！?？ ")
    end = s[len(body) :].strip() or ("。" if language == "zh" else ".")
    if language == "zh":
        return f"{body}，{clause}{end}"
    return f"{body}, and {clause[0].lower() + clause[1:]}{end}"


# -- building --------------------------------------------------------------------------------


def _from_paragraph(p: Paragraph, pools: dict[str, list[str]], others: Sequence[str], rng: random.Random, per: int) -> Iterator[Pair]:
    text = p.text
    spans = _sentences(text)
    lang = p.language
    usable = [i for i, (a, b) in enumerate(spans) if _usable(text[a:b])]
    rng.shuffle(usable)
    bare_text = _bare(text)

    def keep(hypothesis: str | None) -> bool:
        return bool(hypothesis) and _bare(hypothesis or "") not in bare_text

    for i in usable[:per]:
        sentence = text[spans[i][0] : spans[i][1]].strip()
        edited = _PARENTHETICAL.sub("", sentence) if rng.random() < 0.5 else sentence
        window = _window(text, spans, i, rng)
        yield Pair(window, edited, 1, "copy", lang, p.key)
        clause_parts = re.split(r"(?<=[，,；;])", edited)
        if len(clause_parts) > 2:
            cut = "".join(clause_parts[: rng.randint(1, len(clause_parts) - 1)]).rstrip("，,；; ")
            if len(re.findall(r"\w", cut)) >= 8:
                yield Pair(window, cut + ("。" if lang == "zh" else "."), 1, "clause", lang, p.key)
        changes = {
            "number": _number(edited, rng),
            "date": _date(edited, rng),
            "entity": _entity(edited, lang, pools[lang], rng),
            "near-entity": _near_entity(edited, lang, rng),
            "negation": _negation(edited, lang, rng),
            "antonym": _antonym(edited, lang, rng),
            "role": _role(edited, lang, rng),
            "addition": _addition(edited, lang, others, rng),
        }
        made = [(family, changed) for family, changed in changes.items() if keep(changed)]
        rng.shuffle(made)
        for family, changed in made[:3]:
            yield Pair(window, changed or "", 0, family, lang, p.key)
    if len(usable) >= 3:
        a, b = sorted(rng.sample(usable, 2))
        if b - a > 1:
            first, second = (text[spans[k][0] : spans[k][1]].strip() for k in (a, b))
            joiner = "" if lang == "zh" else " "
            joined = first.rstrip("。.") + ("；" if lang == "zh" else "; ") + second[0].lower() + second[1:] if lang != "zh" else first.rstrip("。") + "；" + second
            premise = (first + joiner + "…" + joiner + second) if rng.random() < 0.5 else text[spans[a][0] : spans[b][1]]
            if len(premise) <= 600:
                yield Pair(premise, joined, 1, "combine", lang, p.key)
    answers = [(q, ans, start) for q, ans, start in p.qas if ans and start >= 0]
    yield from _restated(p, answers, spans, keep, rng)
    for question, answer, start in answers[:2]:
        holder = next((k for k, (a, b) in enumerate(spans) if a <= start < b), None)
        if holder is None:
            continue
        window = _window(text, spans, holder, rng)
        q = question.strip().rstrip("?？")
        sep = "：" if lang == "zh" else ": "
        end = "。" if lang == "zh" else "."
        yield Pair(window, f"{q}{sep}{answer}{end}", 1, "qa", lang, p.key)
        wrong = [o for _, o, _ in answers if o != answer and o not in answer and answer not in o and o not in window]
        if wrong:
            yield Pair(window, f"{q}{sep}{rng.choice(wrong)}{end}", 0, "qa-wrong", lang, p.key)
            sentence = text[spans[holder][0] : spans[holder][1]].strip()
            if answer in sentence:
                swapped = sentence.replace(answer, rng.choice(wrong), 1)
                if keep(swapped):
                    yield Pair(window, swapped, 0, "span", lang, p.key)


def _restated(p: Paragraph, answers: Sequence[tuple[str, str, int]], spans: Sequence[tuple[int, int]],
              keep: Callable[[str | None], bool], rng: random.Random) -> Iterator[Pair]:
    """``restate`` (training/restate.py) against the answer's window; with another answer of the
    passage, a negation or two names exchanged: ``restate-wrong``, ``restate-negation``, ``restate-role``."""
    for question, answer, start in answers[:4]:
        holder = next((k for k, (a, b) in enumerate(spans) if a <= start < b), None)
        made = declarative(question, answer, p.language) if holder is not None else None
        if holder is None or made is None:
            continue
        window = _window(p.text, spans, holder, rng)
        yield Pair(window, made, 1, "restate", p.language, p.key)
        wrong = [o for _, o, _ in answers if o != answer and o not in answer and answer not in o and o not in window]
        changes = [("restate-wrong", declarative(question, rng.choice(wrong), p.language) if wrong else None),
                   ("restate-negation", _negation(made, p.language, rng)), ("restate-role", _role(made, p.language, rng))]
        for family, changed in changes:
            if changed and changed != made and keep(changed):
                yield Pair(window, changed, 0, family, p.language, p.key)
                break


def _halueval(p: Paragraph) -> Iterator[Pair]:
    (question, right, _), (_, hallucinated, _) = p.qas
    q = question.strip().rstrip("?")
    yield Pair(p.text, f"{q}: {right.strip().rstrip('.')}.", 1, "halueval", "en", p.key)
    yield Pair(p.text, f"{q}: {hallucinated.strip().rstrip('.')}.", 0, "halueval-hallucinated", "en", p.key)


def _cross(en: Sequence[Paragraph], zh: Sequence[Paragraph], rng: random.Random) -> Iterator[Pair]:
    """XQuAD's parallel paragraphs: the answer sentence of a question in one language against
    the window of the same question's answer in the other."""
    zh_by_key = {p.key.split(":", 1)[1]: p for p in zh}
    pools = {"en": [n for p in en for n in _names(p.text, "en")][:3000]}
    for p_en in en:
        p_zh = zh_by_key.get(p_en.key.split(":", 1)[1])
        if p_zh is None:
            continue
        spans_en, spans_zh = _sentences(p_en.text), _sentences(p_zh.text)
        for (q_en, a_en, s_en), (q_zh, a_zh, s_zh) in list(zip(p_en.qas, p_zh.qas))[:3]:
            k_en = next((k for k, (a, b) in enumerate(spans_en) if a <= s_en < b), None)
            k_zh = next((k for k, (a, b) in enumerate(spans_zh) if a <= s_zh < b), None)
            if k_en is None or k_zh is None:
                continue
            sentence_en = p_en.text[spans_en[k_en][0] : spans_en[k_en][1]].strip()
            sentence_zh = p_zh.text[spans_zh[k_zh][0] : spans_zh[k_zh][1]].strip()
            if not (_usable(sentence_en) and _usable(sentence_zh)):
                continue
            window_zh, window_en = _window(p_zh.text, spans_zh, k_zh, rng), _window(p_en.text, spans_en, k_en, rng)
            yield Pair(window_zh, sentence_en, 1, "cross", "en-zh", p_en.key)
            yield Pair(window_en, sentence_zh, 1, "cross", "zh-en", p_zh.key)
            for question, answer, window, language, key, others in ((q_en, a_en, window_zh, "en-zh", p_en.key, p_en.qas),
                                                                     (q_zh, a_zh, window_en, "zh-en", p_zh.key, p_zh.qas)):
                made = declarative(question, answer, language[:2])
                if made:
                    yield Pair(window, made, 1, "cross-restate", language, key)
                    wrong = [o for _, o, _ in others if o != answer and o not in answer and answer not in o]
                    changed = declarative(question, rng.choice(wrong), language[:2]) if wrong else None
                    if changed and changed != made:
                        yield Pair(window, changed, 0, "cross-restate-wrong", language, key)
            for changed in (_number(sentence_en, rng), _entity(sentence_en, "en", pools["en"], rng), _negation(sentence_en, "en", rng),
                            _antonym(sentence_en, "en", rng)):
                if changed and changed != sentence_en:
                    yield Pair(window_zh, changed, 0, "cross-swap", "en-zh", p_en.key)
                    break
            far = [k for k in range(len(spans_en)) if abs(k - k_en) > 2]
            if far:
                k = rng.choice(far)
                other = p_en.text[spans_en[k][0] : spans_en[k][1]].strip()
                if _usable(other):
                    yield Pair(window_zh, other, 0, "cross-other", "en-zh", p_en.key)


def build(data: Path, split: str, *, seed: int = 0, per_paragraph: int = 4) -> list[Pair]:
    """Every pair of ``split``, shuffled with ``seed``."""
    rng = random.Random(seed)
    sources = paragraphs(data, split)
    pools: dict[str, list[str]] = defaultdict(list)
    sentences: dict[str, list[str]] = defaultdict(list)
    for name in ("cmrc", "xquad-zh", "xquad-en"):
        for p in sources[name]:
            pools[p.language].extend(_names(p.text, p.language)[:6])
            sentences[p.language].extend(p.text[a:b] for a, b in _sentences(p.text)[:4])
    for p in sources["halueval"][:1500]:
        pools["en"].extend(_names(p.text, "en")[:4])
        sentences["en"].extend(p.text[a:b] for a, b in _sentences(p.text)[:2])
    pairs: list[Pair] = []
    for name in ("cmrc", "xquad-zh", "xquad-en"):
        for p in sources[name]:
            pairs.extend(_from_paragraph(p, pools, sentences[p.language], rng, per_paragraph))
    for p in sources["halueval"]:
        pairs.extend(_halueval(p))
        if len(_sentences(p.text)) >= 2:
            pairs.extend(_from_paragraph(p, pools, sentences["en"], rng, 1))
    pairs.extend(_cross(sources["xquad-en"], sources["xquad-zh"], rng))
    rng.shuffle(pairs)
    return pairs


def write_pairs(pairs: Sequence[Pair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")


def read_pairs(path: Path) -> list[Pair]:
    with path.open(encoding="utf-8") as rows:
        return [Pair(**json.loads(line)) for line in rows if line.strip()]


if __name__ == "__main__":
    import argparse
    from collections import Counter

    parser = argparse.ArgumentParser(description="Build the learned judge's labelled pairs (train, tune, report) from ../shared/data.")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for split in SPLITS:
        built = build(args.data, split, seed=args.seed)
        write_pairs(built, args.out / f"{split}.jsonl")
        families = Counter((p.family, p.label) for p in built)
        print(split, len(built), "pairs;", ", ".join(f"{f}:{n}" for (f, _), n in sorted(families.items())))
