"""Chinese sentiment and topics of free text, offline (issue 22).

Segmentation is jieba's (MIT licence), with the lexicon's words added so that each is one token;
sentiment is lexicon-based (:mod:`.lexicon_zh`): each sentiment word's weight, flipped by a
negator just before it, multiplied by a degree adverb just before it, with what follows a
contrast word (但是, 不过 …) weighing double; the sum is squashed to -1 … 1. Topics are keyword
groups (:data:`TOPICS`): the group with most hits, ``other`` when none.

jieba is loaded lazily, once per process, on the first text analysed (about a second): never at
server start nor in tests that do not analyse. Its dictionary cache is written under the
directory given to :func:`configure` (``var/cache``), never to the system's temporary directory.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from quan.services.feedback.lexicon_zh import LEXICON

POSITIVE_ABOVE: Final = 0.15
NEGATIVE_BELOW: Final = -0.15

TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "refusal": (
        "拒收",
        "不收",
        "拒绝",
        "不让用",
        "不给用",
        "不能用",
        "用不了",
        "无法使用",
        "刁难",
        "推脱",
        "推诿",
    ),
    "price": (
        "加价",
        "涨价",
        "价格",
        "贵",
        "多收",
        "乱收费",
        "差价",
        "先涨后降",
        "宰客",
        "虚高",
        "标价",
        "原价",
    ),
    "claiming": (
        "抢",
        "抢券",
        "领取",
        "领券",
        "抢不到",
        "没抢到",
        "领不到",
        "名额",
        "摇号",
        "中签",
    ),
    "expiry": ("过期", "到期", "有效期", "作废", "失效"),
    "app": (
        "系统",
        "卡顿",
        "闪退",
        "崩溃",
        "页面",
        "验证码",
        "登录",
        "二维码",
        "扫码",
        "小程序",
        "app",
        "APP",
    ),
    "service": ("态度", "服务", "店员", "收银员", "排队", "等待", "冷淡", "热情", "耐心", "不耐烦"),
    "settlement": ("结算", "到账", "回款", "打款", "拖欠", "账单", "对账"),
}


@dataclass(frozen=True, slots=True)
class Analysis:
    sentiment: float  # -1 … 1
    label: str  # negative | neutral | positive
    topic: str  # a key of TOPICS, or "other"


def _parse(text: str) -> tuple[dict[str, float], set[str], dict[str, float], set[str]]:
    weights: dict[str, float] = {}
    negators: set[str] = set()
    degrees: dict[str, float] = {}
    contrasts: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, value = line.partition("\t")
        if value == "NEG":
            negators.add(word)
        elif value == "BUT":
            contrasts.add(word)
        elif value.startswith("DEG:"):
            degrees[word] = float(value[4:])
        else:
            weights[word] = float(value)
    return weights, negators, degrees, contrasts


WEIGHTS, NEGATORS, DEGREES, CONTRASTS = _parse(LEXICON)

_lock = threading.Lock()
_tokenizer: Any = None
_cache_dir: Path = Path("var") / "cache"  # Settings.var_dir's default, until configured


def configure(cache_dir: Path) -> None:
    """Where jieba keeps its dictionary cache (the runtime passes ``<var_dir>/cache``)."""
    global _cache_dir
    _cache_dir = cache_dir


def _segmenter() -> Any:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            logging.getLogger("jieba").setLevel(logging.WARNING)
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            _cache_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.tmp_dir = str(_cache_dir)
            words = set(WEIGHTS) | NEGATORS | set(DEGREES) | CONTRASTS
            words |= {w for group in TOPICS.values() for w in group}
            for word in sorted(words):
                tokenizer.add_word(word, freq=None)
            _tokenizer = tokenizer
        return _tokenizer


BREAK: Final = "|"


def segment(text: str) -> list[str]:
    """``text`` cut into words; spaces dropped, punctuation as :data:`BREAK` (a clause ends)."""
    return [BREAK if _punctuation(w) else w for w in _segmenter().lcut(text) if w.strip()]


def _punctuation(word: str) -> bool:
    return all(not ch.isalnum() for ch in word)


def score_tokens(tokens: list[str]) -> float:
    """The sum of the sentiment words' weights, squashed to -1 … 1 (0 when none)."""
    total = 0.0
    hits = 0
    factor = 1.0  # after a contrast word, what follows counts double
    for i, token in enumerate(tokens):
        if token in CONTRASTS:
            total *= 0.5
            factor = 2.0
            continue
        weight = WEIGHTS.get(token)
        if weight is None:
            continue
        # The two words before, within the clause: a degree adverb, a negator (不太好, 不是很好).
        before = tokens[max(0, i - 2) : i]
        if BREAK in before:
            before = before[before.index(BREAK) + 1 :]
        for word in before:
            weight *= DEGREES.get(word, 1.0)
        negated = bool(before) and (
            before[-1] in NEGATORS or (len(before) == 2 and before[0] in NEGATORS)
        )
        if negated:
            weight = -weight * (0.8 if weight > 0 else 0.5)
        total += weight * factor
        hits += 1
    if hits == 0:
        return 0.0
    return math.tanh(total / 2)


def label_of(score: float) -> str:
    if score > POSITIVE_ABOVE:
        return "positive"
    if score < NEGATIVE_BELOW:
        return "negative"
    return "neutral"


def topic_of(tokens: Iterable[str], text: str = "") -> str:
    words = list(tokens)
    best, best_hits = "other", 0
    for topic, keywords in TOPICS.items():
        hits = sum(1 for w in words if w in keywords) + sum(
            1 for k in keywords if len(k) > 1 and k in text and k not in words
        )
        if hits > best_hits:
            best, best_hits = topic, hits
    return best


def analyse(text: str) -> Analysis:
    tokens = segment(text)
    score = round(score_tokens(tokens), 3)
    return Analysis(score, label_of(score), topic_of(tokens, text))
