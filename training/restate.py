"""Questions restated as the statements their answers make: the rewording the other families lack.

Crowd workers wrote XQuAD's and CMRC2018's questions in their own words, so "Who registered the
most sacks on the team?" answered "Kawann Short" becomes "Kawann Short registered the most sacks
on the team.", and "甘地从事的事业叫什么" answered "非暴力主义" becomes "甘地从事的事业叫非暴力主义。": a
statement the passage supports without quoting it. With another answer of the same passage in
its place, the statement is false in the same words. Only safe rules apply (a question word the
answer can stand in for); the rest are skipped. Some results are clumsy, none changes the meaning
the answer gives the question.
"""

from __future__ import annotations

import re

__all__ = ["declarative"]

_DANGLING = {"after", "of", "for", "with", "by", "to", "from", "in", "on", "at", "about", "as", "into"}
_AUX = {"did", "does", "do", "is", "was", "are", "were", "has", "have", "had", "can", "could", "will", "would", "should", "may", "might", "must"}
_ZH_WH = ["什么时候", "哪一年", "哪一天", "哪一位", "哪一个", "哪些", "哪个", "哪位", "哪里", "哪儿", "哪年", "哪国", "哪", "什么", "谁", "多少", "何时", "何地", "几"]
_ZH_SKIP = ("为什么", "为何", "怎么", "怎样", "如何", "是否", "吗")


def declarative(question: str, answer: str, language: str) -> str | None:
    """The question restated as the statement its answer makes (the answer in place of the
    question word), or None where no safe rule applies. Crowd-written questions reword the
    passage, so these are the rewording the other families lack."""
    q = question.strip().rstrip("?？ ").strip()
    answer = answer.strip().rstrip("。.")
    if not q or not answer:
        return None
    if language == "zh":
        if len(answer) > 12 or re.search(r"[，。；,;]", answer) or any(s in q for s in _ZH_SKIP):
            return None
        q = re.sub(r"[呢啊]$", "", q)
        if {answer[i : i + 2] for i in range(len(answer) - 1)} & {q[i : i + 2] for i in range(len(q) - 1)}:
            return None  # the answer repeats the question's words: substituting it garbles the sentence
        for wh in _ZH_WH:
            at = q.find(wh)
            if at < 0:
                continue
            after = q[at + len(wh) :]
            for k in (2, 1):  # "多少年" answered "30年", "什么形式" answered "私人单位形式"
                if after[:k] and answer.endswith(after[:k]):
                    after = after[k:]
                    break
            before = q[:at]
            if wh == "几" and before.endswith("第") and answer.startswith("第"):
                before = before[:-1]
            return f"{before}{answer}{after}。"
        return None
    words = q.split()
    if words and words[-1].lower() in _DANGLING:
        return None  # "What is X named after?": the answer belongs inside the clause, not in front
    if len(words) < 3 or len(answer.split()) > 8:
        return None
    head, second = words[0].lower(), words[1].lower()
    rest = " ".join(words[1:])
    if head == "who" and second not in _AUX:
        made = f"{answer} {rest}"
    elif head in ("who", "what") and second in ("is", "was", "are", "were") and len(words) > 2:
        made = f"{answer} {rest}"
    elif head in ("what", "which") and len(words) > 3 and words[2].lower() in ("is", "was", "are", "were", "has", "had") :
        made = f"{answer} {' '.join(words[2:])}"
    elif head in ("what", "which") and len(words) > 3 and words[2].lower() not in _AUX and words[2].lower().endswith(("ed", "s")):
        made = f"{answer} {' '.join(words[2:])}"
    elif m := re.match(r"(?i)^where (is|was|are|were) (.+?)( located| situated| based| born| held| buried| found)?$", q):
        made = f"{m.group(2)} {m.group(1).lower()}{m.group(3) or ''} in {answer}"
    elif m := re.match(r"(?i)^when (is|was|were|are) (.+) (\w+ed)$", q):
        made = f"{m.group(2)} {m.group(1).lower()} {m.group(3)} in {answer}"
    else:
        return None
    return made[0].upper() + made[1:] + "."
