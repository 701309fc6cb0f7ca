"""Numbers and dates by value, whatever the script: what the checker compares instead of words.

"75岁", "75 years old" and "at the age of 75" are one quantity (75, age); "一千二百", "1,200" and
"1.2 thousand" are 1200; "2012年5月15日", "May 15, 2012", "15 May 2012" and "2012-05-15" are one
date. :func:`facts` finds them in a text with the characters each one spans, so the judge can
tell whether a statement's quantity is in a passage window by value and unit, and count the
words inside it (the unit, the month's name, the numeral) as found when it is.

Written here rather than taken from a library: the numeral converters on PyPI (cn2an and others)
turn a whole string into a number or rewrite every numeral of a text, while the checker needs to
find quantities inside running text, decide when a lone 一 is a number (一个, 一天) and when it is
a word (一般, 一起), attach units in both languages and read dates in three orders: about 200 lines
of rules, tested in tests/rag/test_checker_matching.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache

__all__ = ["DateFact", "Facts", "Quantity", "facts"]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number (canonical decimal text, ``"1200"``, ``"0.5"``; a dotted run such as ``"2012.12.01"``
    as written) with its unit (``"age"``, ``"percent"``, ``"day"``, ... or None) and where it is."""

    value: str
    unit: str | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DateFact:
    """A date or part of one (year, month, day; None where not said) and where it is."""

    year: int | None
    month: int | None
    day: int | None
    start: int
    end: int

    def valid(self) -> bool:
        if self.month is not None and not 1 <= self.month <= 12:
            return False
        if self.day is None:
            return True
        longest = 31 if self.month is None else (29 if self.month == 2 else 30 if self.month in (4, 6, 9, 11) else 31)
        return 1 <= self.day <= longest

    def within(self, other: DateFact) -> bool:
        """Whether ``other`` says every part of this date, the same way."""
        return all(mine is None or mine == theirs for mine, theirs in ((self.year, other.year), (self.month, other.month), (self.day, other.day)))

    def display(self) -> str:
        return "-".join(str(p) for p in (self.year, self.month, self.day) if p is not None)


@dataclass(frozen=True, slots=True)
class Facts:
    """The quantities and dates of a text, and every value said (for lookups by value alone)."""

    quantities: tuple[Quantity, ...]
    dates: tuple[DateFact, ...]
    values: frozenset[str]
    keyed: frozenset[tuple[str, str]]  # (value, unit) for quantities with a unit

    def holds(self, quantity: Quantity) -> bool:
        """The quantity said here: the same value with the same unit, or the value without one."""
        if quantity.unit is None:
            return quantity.value in self.values
        units = {quantity.unit, *_SAME_UNIT.get(quantity.unit, ())}
        return any(q.value == quantity.value and (q.unit is None or q.unit in units) for q in self.quantities)

    def holds_date(self, date: DateFact) -> bool:
        """The date said here as a date, or each of its numbers said ("2012年（明治45年）5月" keeps its
        parts apart; "in 2012" says the year)."""
        if any(date.within(other) for other in self.dates):
            return True
        if date.month is not None and any(
            other.month is not None and (date.year is None or other.year is None or other.year == date.year) for other in self.dates
        ):
            return False  # the window dates that year otherwise: "March 5, 2012" does not say "May 3, 2012"
        return all(str(part) in self.values for part in (date.year, date.month, date.day) if part is not None)


# Units that can say the same of one number: "活了75年" and "75岁".
_SAME_UNIT = {"age": ("year",), "year": ("age",)}

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
_ZH_NUMERAL = re.compile(r"[零〇○一二两三四五六七八九十百千万亿]+")
_LONGEST_NUMERAL = 24  # characters; longer runs are not quantities anyone states
_LONGEST_DIGITS = 40

_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_EN_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 1_000_000_000_000}
_EN_WORD = "|".join(sorted([*_EN_UNITS, *_EN_SCALES], key=len, reverse=True))
_EN_NUMBER = re.compile(rf"\b(?:{_EN_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_EN_WORD}))*\b", re.IGNORECASE)

_ZH_SCALE = {"万亿": 10**12, "亿": 10**8, "万": 10**4, "千": 10**3}
_DIGIT_NUMBER = re.compile(
    r"(?<![\d.])\d+(?:,\d{3})+(?:\.\d+)?(?!\d|,\d)|(?<![\d.])\d+(?:\.\d+)+|(?<![\d.])\d+"
)
_SCALE_AFTER = re.compile(r"\s*(?:(万亿|亿|万|千)|(thousand|million|billion|trillion)\b)", re.IGNORECASE)

# Units after a number, in either language: (pattern, canonical unit). Order matters (longest first).
_UNIT_AFTER = [
    (r"\s*(?:-|\s)?(?:years?|yrs?)[\s-]*old\b|\s*-year-old\b|\s*周岁|\s*岁", "age"),
    (r"\s*(?:%|％|percent\b|per\s+cent\b|个百分点|percentage\s+points?\b)", "percent"),
    (r"\s*(?:个)?工作日|\s*(?:business|working)\s+days?\b", "workday"),
    (r"\s*(?:个)?小时|\s*(?:hours?|hrs?)\b", "hour"),
    (r"\s*分钟|\s*(?:minutes?|mins?)\b", "minute"),
    (r"\s*秒钟?|\s*seconds?\b", "second"),
    (r"\s*(?:个)?(?:星期|礼拜)|\s*周(?![一二三四五六日末])|\s*weeks?\b", "week"),
    (r"\s*个月|\s*months?\b", "month"),
    (r"\s*(?:天|日(?!本))|\s*days?\b", "day"),
    (r"\s*年(?![级代])|\s*years?\b", "year"),
    (r"\s*(?:美元|美金)|\s*(?:us\s+)?dollars?\b|\s*usd\b", "usd"),
    (r"\s*(?:元|块钱|块|人民币)|\s*(?:yuan|rmb|cny)\b", "yuan"),
    (r"\s*(?:人|名|位)|\s*(?:people|persons?|individuals?)\b", "person"),
    (r"\s*(?:次|回)|\s*times\b", "times"),
    (r"\s*倍|\s*-?fold\b", "fold"),
    (r"\s*(?:公里|千米)|\s*(?:km|kilometers?|kilometres?)\b", "km"),
    (r"\s*米|\s*(?:m|meters?|metres?)\b", "m"),
]
_UNIT_AFTER_RE = [(re.compile(p, re.IGNORECASE), unit) for p, unit in _UNIT_AFTER]
_UNIT_BEFORE = [
    (re.compile(r"(?:\bat\s+)?(?:\bthe\s+)?\bage\s+of\s*$|\baged\s*$|年龄(?:为|是)?\s*$|享年\s*$", re.IGNORECASE), "age"),
    (re.compile(r"(?:us)?\$\s*$|us\$\s*$|美元\s*$", re.IGNORECASE), "usd"),
    (re.compile(r"[¥￥]\s*$|(?:rmb|cny)\s*$", re.IGNORECASE), "yuan"),
    (re.compile(r"百分之$"), "percent"),
]
# Classifiers a Chinese numeral stands before (a lone 一 is a number only before one of them).
_CLASSIFIER = re.compile(r"(?:点钟|点|个|岁|周岁|位|名|次|天|日|号|月|年|元|块|倍|家|种|项|条|人|本|张|只|件|周|星期|小时|分钟|秒|层|米|里|公里|克|斤|吨|届|期|季|场|轮|辆|台|所|座|部|篇|首|份|批|句|步|级|门|棵|头|匹|艘|架|间|栋|环|股|笔|例|处|段|节|章|集)")

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8, "september": 9,
    "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = r"(?P<mon>January|February|March|April|May|June|July|August|September|October|November|December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
_ORD = r"(?:st|nd|rd|th)?"
_ZH_N = r"(?<![\d零〇○一二两三四五六七八九十])[\d零〇○一二两三四五六七八九十]{1,6}"
_DATES = [
    re.compile(rf"(?P<y>{_ZH_N})\s*年\s*(?P<m>{_ZH_N})\s*月(?:\s*(?P<d>{_ZH_N})\s*[日号])?"),
    re.compile(rf"(?<!年)(?P<m>{_ZH_N})\s*月\s*(?P<d>{_ZH_N})\s*[日号]"),
    re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}}){_ORD}\b(?:,?\s+(?P<y>\d{{4}})\b)?"),
    re.compile(rf"\b(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH}\b(?:,?\s+(?P<y>\d{{4}})\b)?"),
    re.compile(rf"\b{_MONTH}\s+(?:of\s+)?(?P<y>\d{{4}})\b"),
    re.compile(r"(?<![\d.])(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d])"),
    re.compile(r"(?P<y>(?:\d{4}|[零〇○一二三四五六七八九]{4}))\s*年(?![级代])"),
]


def _decimal(text: str) -> str | None:
    digits = text.replace(",", "")
    if len(digits) > _LONGEST_DIGITS:
        return digits  # as written: a long run is compared as text, never rounded
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    return _canonical(value)


_PRECISE = Context(prec=_LONGEST_DIGITS + 20)


def _canonical(value: Decimal) -> str:
    text = format(value.normalize(_PRECISE), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def zh_value(numeral: str) -> int | None:
    """A Chinese numeral's value ("一千二百" -> 1200, "二〇一二" -> 2012, "十五" -> 15), None if it is not one."""
    if not numeral or numeral[0] in "百千万亿" or len(numeral) > _LONGEST_NUMERAL:
        return None
    if all(ch in _DIGITS for ch in numeral):
        return int("".join(str(_DIGITS[ch]) for ch in numeral)) if len(numeral) > 1 else _DIGITS[numeral]
    total = section = number = 0
    seen_digit = False
    for ch in numeral:
        if ch in _DIGITS:
            if seen_digit and number:  # "二三十" and the like: not a numeral we read
                return None
            number, seen_digit = _DIGITS[ch], True
        elif ch in _SMALL:
            section += (number or 1) * _SMALL[ch]
            number, seen_digit = 0, False
        elif ch == "万":
            total += (section + number) * 10_000
            section = number = 0
            seen_digit = False
        elif ch == "亿":
            total = (total + section + number) * 100_000_000
            section = number = 0
            seen_digit = False
    return total + section + number


def _en_value(words: str) -> int | None:
    total = current = 0
    for word in re.split(r"(?:\s+and\s+|[\s-]+)", words.lower()):
        if word in _EN_UNITS:
            small = current % 100
            if small and not (small % 10 == 0 and small >= 20 and _EN_UNITS[word] < 10):
                return None  # "twenty twenty", "nineteen ninety": a year said in words, not a sum
            current += _EN_UNITS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _EN_SCALES:
            total += (current or 1) * _EN_SCALES[word]
            current = 0
        else:
            return None
    return total + current


def _unit(text: str, start: int, end: int) -> tuple[str | None, int, int]:
    """The unit said around a number at ``start:end`` and the span it widens the number to."""
    for pattern, unit in _UNIT_AFTER_RE:
        match = pattern.match(text, end)
        if match and match.end() > end:
            return unit, start, match.end()
    before = text[max(0, start - 20) : start]
    for pattern, unit in _UNIT_BEFORE:
        match = pattern.search(before)
        if match:
            return unit, start - (len(before) - match.start()), end
    return None, start, end


def _scaled(text: str, value: Decimal, end: int) -> tuple[Decimal, int]:
    match = _SCALE_AFTER.match(text, end)
    if not match:
        return value, end
    word = (match.group(1) or match.group(2)).lower()
    scale = _ZH_SCALE.get(word) or _EN_SCALES[word]
    return value * _PRECISE.create_decimal(scale), match.end()


def _digit_quantities(text: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    out = []
    for match in _DIGIT_NUMBER.finditer(text):
        if _inside(match.start(), match.end(), taken):
            continue
        raw = match.group()
        if raw.count(".") > 1 or len(raw) > _LONGEST_DIGITS:  # a dotted run (a version, a date with dots) or a long one: as written
            out.append(Quantity(raw.replace(",", ""), None, match.start(), match.end()))
            continue
        number = Decimal(raw.replace(",", ""))
        value, end = _scaled(text, number, match.end())
        unit, start, end = _unit(text, match.start(), end)
        out.append(Quantity(_canonical(value), unit, start, end))
    return out


def _zh_quantities(text: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    out: list[Quantity] = []
    for match in _ZH_NUMERAL.finditer(text):
        run, start, end = match.group(), match.start(), match.end()
        if _inside(start, end, taken) or _inside(start, end, [(q.start, q.end) for q in out]) or _a_word(text, run, end):
            continue
        has_magnitude = any(ch in _SMALL or ch in _BIG for ch in run)
        follows = _CLASSIFIER.match(text, end) is not None
        if not has_magnitude and not follows and not (len(run) >= 2 and any(ch in "零〇○" for ch in run)):
            continue
        if run == "十" and not follows:
            continue
        value = zh_value(run)
        if value is None:
            continue
        decimal = _ZH_DECIMAL.match(text, end)
        if decimal:  # 一点五 = 1.5
            fraction = "".join(str(_DIGITS[ch]) for ch in decimal.group(1))
            quantities_value = _canonical(_PRECISE.create_decimal(f"{value}.{fraction}"))
            unit, start, end = _unit(text, start, decimal.end())
            out.append(Quantity(quantities_value, unit, start, end))
            continue
        unit, start, end = _unit(text, start, end)
        if unit is None and follows:
            end = _CLASSIFIER.match(text, end).end()  # type: ignore[union-attr]  # matched just above
        out.append(Quantity(str(value), unit, start, end))
    return out


_ZH_DECIMAL = re.compile(r"点([零〇○一二三四五六七八九]{1,8})")


def _a_word(text: str, run: str, end: int) -> bool:
    """十分 ("very"), 一点 ("a little"), 一一 and the like: numerals that are words here."""
    after = text[end : end + 2]
    if run == "十" and after.startswith("分") and not after.startswith("分钟"):
        return True
    return run == "一" and after.startswith("点") and not (after.startswith("点钟") or _ZH_DECIMAL.match(text, end))


def _en_quantities(text: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    out = []
    for match in _EN_NUMBER.finditer(text):
        words = match.group()
        if _inside(match.start(), match.end(), taken):
            continue
        value = _en_value(words)
        if value is None:
            continue
        unit, start, end = _unit(text, match.start(), match.end())
        if words.lower() == "one" and unit is None:
            continue  # "one of the", "no one": a pronoun more often than a number
        out.append(Quantity(str(value), unit, start, end))
    return out


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= start and end <= b for a, b in spans)


def _date_part(text: str | None) -> int | None:
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    return zh_value(text)


def _dates(text: str) -> list[DateFact]:
    found: list[DateFact] = []
    for pattern in _DATES:
        for match in pattern.finditer(text):
            if any(d.start <= match.start() < d.end for d in found):
                continue
            groups = match.groupdict()
            month = _MONTHS[groups["mon"].lower().rstrip(".")] if groups.get("mon") else _date_part(groups.get("m"))
            date = DateFact(_date_part(groups.get("y")), month, _date_part(groups.get("d")), match.start(), match.end())
            if not date.valid():
                continue
            found.append(date)
    return sorted(found, key=lambda d: d.start)


@lru_cache(maxsize=16384)
def facts(text: str) -> Facts:
    """The quantities and dates of ``text``. Every number a date holds is also among ``values``,
    and each piece of a dotted run ("2012.12:01" holds 2012 and 12)."""
    dates = _dates(text)
    taken = [(d.start, d.end) for d in dates]
    quantities = _digit_quantities(text, taken)
    taken_all = taken + [(q.start, q.end) for q in quantities]
    quantities += _zh_quantities(text, taken_all)
    taken_all += [(q.start, q.end) for q in quantities]
    quantities += _en_quantities(text, taken_all)
    values = {q.value for q in quantities}
    for date in dates:
        values |= {str(p) for p in (date.year, date.month, date.day) if p is not None}
    for match in _DIGIT_NUMBER.finditer(text):  # the digits as written too ("1.2" of "1.2万"), and each dotted piece
        raw = match.group()
        if (value := _decimal(raw)) is not None:
            values.add(value)
        pieces = [p for p in raw.replace(",", "").split(".") if p] if "." in raw else []
        values |= set(pieces) | {p.lstrip("0") or "0" for p in pieces}
    keyed = frozenset((q.value, q.unit) for q in quantities if q.unit is not None)
    return Facts(tuple(sorted(quantities, key=lambda q: q.start)), tuple(dates), frozenset(values), keyed)
