"""Hand-written word lists the pair builders use: antonyms and negations, in Chinese and English.

Written for this project (no licence question): common opposites of the kind a changed fact
turns on (rose/fell, 支持/反对, exceeds/below), each pair usable in both directions.
"""

from __future__ import annotations

ANTONYMS_EN = [
    ("increased", "decreased"), ("increase", "decrease"), ("increases", "decreases"), ("rose", "fell"), ("rise", "fall"),
    ("rises", "falls"), ("higher", "lower"), ("high", "low"), ("more", "less"), ("most", "least"), ("largest", "smallest"),
    ("large", "small"), ("larger", "smaller"), ("biggest", "smallest"), ("big", "small"), ("first", "last"), ("before", "after"),
    ("earlier", "later"), ("early", "late"), ("north", "south"), ("northern", "southern"), ("east", "west"), ("eastern", "western"),
    ("won", "lost"), ("win", "lose"), ("victory", "defeat"), ("accepted", "rejected"), ("accept", "reject"), ("allowed", "forbade"),
    ("allow", "forbid"), ("supported", "opposed"), ("support", "oppose"), ("began", "ended"), ("start", "end"), ("started", "ended"),
    ("opened", "closed"), ("open", "closed"), ("above", "below"), ("over", "under"), ("inside", "outside"), ("internal", "external"),
    ("success", "failure"), ("successful", "unsuccessful"), ("succeeded", "failed"), ("strong", "weak"), ("stronger", "weaker"),
    ("old", "new"), ("older", "younger"), ("oldest", "youngest"), ("ancient", "modern"), ("rich", "poor"), ("wealthy", "poor"),
    ("public", "private"), ("male", "female"), ("men", "women"), ("upper", "lower"), ("maximum", "minimum"), ("positive", "negative"),
    ("legal", "illegal"), ("possible", "impossible"), ("common", "rare"), ("often", "rarely"), ("always", "never"), ("entered", "left"),
    ("arrived", "departed"), ("bought", "sold"), ("buy", "sell"), ("gained", "lost"), ("added", "removed"), ("included", "excluded"),
    ("easy", "difficult"), ("cheap", "expensive"), ("fast", "slow"), ("faster", "slower"), ("long", "short"), ("longer", "shorter"),
    ("longest", "shortest"), ("wide", "narrow"), ("deep", "shallow"), ("hot", "cold"), ("warm", "cool"), ("wet", "dry"),
    ("true", "false"), ("correct", "incorrect"), ("free", "paid"), ("free", "charged"), ("same", "different"), ("exceeds", "falls below"),
    ("majority", "minority"), ("import", "export"), ("imports", "exports"), ("attack", "defend"), ("created", "destroyed"),
]
ANTONYMS_ZH = [
    ("上涨", "下跌"), ("增加", "减少"), ("增长", "下降"), ("提高", "降低"), ("升高", "降低"), ("扩大", "缩小"), ("高于", "低于"),
    ("超过", "低于"), ("多于", "少于"), ("最大", "最小"), ("最高", "最低"), ("最多", "最少"), ("最早", "最晚"), ("最长", "最短"),
    ("之前", "之后"), ("以前", "以后"), ("以上", "以下"), ("开始", "结束"), ("成功", "失败"), ("胜利", "失败"), ("获胜", "落败"),
    ("支持", "反对"), ("赞成", "反对"), ("同意", "拒绝"), ("接受", "拒绝"), ("允许", "禁止"), ("批准", "否决"), ("加入", "退出"),
    ("进口", "出口"), ("买入", "卖出"), ("购买", "出售"), ("收购", "出售"), ("北部", "南部"), ("东部", "西部"), ("北方", "南方"),
    ("东方", "西方"), ("南", "北"), ("东", "西"), ("上", "下"), ("内", "外"), ("前", "后"), ("大", "小"), ("多", "少"), ("高", "低"),
    ("长", "短"), ("早", "晚"), ("新", "旧"), ("男", "女"), ("公开", "秘密"), ("公立", "私立"), ("国内", "国外"), ("城市", "农村"),
    ("免费", "收费"), ("容易", "困难"), ("简单", "复杂"), ("正确", "错误"), ("真", "假"), ("强", "弱"), ("快", "慢"), ("热", "冷"),
    ("首次", "最后一次"), ("第一", "最后"), ("上升", "下降"), ("涨", "跌"), ("赢", "输"), ("主要", "次要"), ("积极", "消极"),
    ("出生", "去世"), ("建立", "废除"), ("开放", "关闭"), ("打开", "关闭"), ("合法", "非法"), ("可能", "不可能"), ("必须", "无需"),
    ("普遍", "罕见"), ("经常", "很少"), ("总是", "从不"), ("相同", "不同"), ("一致", "不一致"), ("上半年", "下半年"), ("上游", "下游"),
]

# Negation: (pattern, replacement) pairs applied once; each inserts or removes a negation.
NEGATE_EN = [
    (r"\bis\b", "is not"), (r"\bwas\b", "was not"), (r"\bare\b", "are not"), (r"\bwere\b", "were not"), (r"\bcan\b", "cannot"),
    (r"\bhas\b", "has not"), (r"\bhave\b", "have not"), (r"\bhad\b", "had not"), (r"\bwill\b", "will not"), (r"\bdid\b", "did not"),
    (r"\bcould\b", "could not"), (r"\bshould\b", "should not"), (r"\bmust\b", "must not"), (r"\bis not\b", "is"), (r"\bwas not\b", "was"),
    (r"\bnot\s+", ""), (r"\bnever\b", "always"), (r"\bno longer\b", "still"),
]
NEGATE_ZH = [
    ("不是", "是"), ("没有", "有"), ("不能", "能"), ("不会", "会"), ("不可以", "可以"), ("无法", "能够"), ("未", "已"), ("不", ""),
    ("是", "不是"), ("有", "没有"), ("能", "不能"), ("会", "不会"), ("可以", "不可以"), ("已经", "尚未"), ("属于", "不属于"),
    ("位于", "不位于"), ("包括", "不包括"), ("需要", "不需要"), ("成为", "没有成为"),
]
