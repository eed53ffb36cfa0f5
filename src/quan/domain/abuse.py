"""Abuse detection rules (套现、虚假交易): data, versioned, each with its explanation.

A :class:`Rule` reads one feature of a merchant or a citizen (computed by
:mod:`quan.services.abuse.features`) and *fires* when the value reaches its threshold and the
subject has enough redemptions for the value to mean something. A subject's **risk score** is the
sum of the weights of the rules that fired; at :data:`CASE_THRESHOLD` or above a case is opened
for a person to review. The explanation shown to the reviewer is the rule's sentence with the
subject's value and the threshold filled in, in zh-CN and in English.

Rules are data: changing one means a new :data:`RULES_VERSION`, recorded on every case, so a case
is always read against the rules that opened it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Subject(StrEnum):
    MERCHANT = "merchant"
    CITIZEN = "citizen"


class Feature(StrEnum):
    """Per actor, over the program's recent redemptions (and refused attempts)."""

    REDEMPTIONS = "redemptions"  # how many redemptions
    CITIZENS = "citizens"  # distinct citizens served (merchant)
    MERCHANTS = "merchants"  # distinct merchants visited (citizen)
    NEAR_MIN_SHARE = "near_min_share"  # share of orders within 5 % above the minimum spend
    ROUND_SHARE = "round_share"  # share of orders of a whole multiple of ¥10
    FAST_SHARE = "fast_share"  # share redeemed within FAST_SECONDS of the claim
    MAX_PAIR = "max_pair"  # most redemptions of one citizen at one merchant
    REFUSED_REDEEMS = "refused_redeems"  # refused redemption attempts (merchant's terminals)
    REFUSED_CLAIMS = "refused_claims"  # refused claims (citizen), capacity refusals aside


NEAR_MIN_PERCENT: Final = 5  # an order at most 5 % above the minimum spend "hugs" it
ROUND_FEN: Final = 1000  # ¥10
FAST_SECONDS: Final = 600  # redeemed within 10 minutes of the claim
LOOKBACK_DAYS: Final = 30  # features read the last 30 days of a program
CASE_THRESHOLD: Final = 1.0
RULES_VERSION: Final = "2026-12-07.1"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    subject: Subject
    feature: Feature
    threshold: float
    weight: float
    min_redemptions: int  # below this many redemptions the rule stays silent
    zh: str  # {value} and {threshold} are filled in; shares are shown as percentages
    en: str

    def fires(self, features: Mapping[str, float]) -> bool:
        if features.get(Feature.REDEMPTIONS.value, 0) < self.min_redemptions:
            return False
        return features.get(self.feature.value, 0) >= self.threshold

    def explain(self, value: float, lang: str) -> str:
        text = self.zh if lang.startswith("zh") else self.en
        return text.format(
            value=_shown(self.feature, value), threshold=_shown(self.feature, self.threshold)
        )


def _shown(feature: Feature, value: float) -> str:
    if feature.value.endswith("_share"):
        return f"{value * 100:.0f}%"
    return f"{value:.0f}"


RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "M-NEAR-MIN", Subject.MERCHANT, Feature.NEAR_MIN_SHARE, 0.6, 0.5, 5,
        zh="{value} 的订单金额紧贴满减门槛（高出不到 5%），阈值 {threshold}："
        "常见于为凑满减而虚构的订单",
        en="{value} of orders hug the minimum spend (less than 5% above it; threshold "
        "{threshold}): typical of orders made up to meet the threshold",
    ),
    Rule(
        "M-ROUND", Subject.MERCHANT, Feature.ROUND_SHARE, 0.7, 0.3, 5,
        zh="{value} 的订单是整十元金额，阈值 {threshold}：真实消费很少总是整数",
        en="{value} of orders are whole multiples of ¥10 (threshold {threshold}): real "
        "purchases are seldom always round",
    ),
    Rule(
        "M-FAST", Subject.MERCHANT, Feature.FAST_SHARE, 0.5, 0.4, 5,
        zh="{value} 的券在领取后 10 分钟内即在本店核销，阈值 {threshold}：疑似领券即套现",
        en="{value} of vouchers were redeemed here within 10 minutes of being claimed "
        "(threshold {threshold}): a sign of claiming to cash out",
    ),
    Rule(
        "M-PAIR", Subject.MERCHANT, Feature.MAX_PAIR, 4, 0.4, 4,
        zh="同一市民在本店核销了 {value} 次（阈值 {threshold}）：疑似固定人员反复刷券",
        en="One citizen redeemed here {value} times (threshold {threshold}): the same people "
        "redeeming again and again",
    ),
    Rule(
        "M-REFUSED", Subject.MERCHANT, Feature.REFUSED_REDEEMS, 20, 0.3, 0,
        zh="本店收银台有 {value} 次核销被拒（阈值 {threshold}）：疑似反复试用无效或他人的券",
        en="The merchant's terminals had {value} redemptions refused (threshold {threshold}): "
        "trying invalid or other people's vouchers",
    ),
    Rule(
        "C-PAIR", Subject.CITIZEN, Feature.MAX_PAIR, 4, 0.6, 4,
        zh="该市民在同一商户核销了 {value} 次（阈值 {threshold}）：疑似与商户配合套现",
        en="This citizen redeemed {value} times at one merchant (threshold {threshold}): "
        "possibly cashing out with the merchant",
    ),
    Rule(
        "C-FAST", Subject.CITIZEN, Feature.FAST_SHARE, 0.8, 0.4, 3,
        zh="{value} 的券领取后 10 分钟内即被核销（阈值 {threshold}）",
        en="{value} of this citizen's vouchers were redeemed within 10 minutes of the claim "
        "(threshold {threshold})",
    ),
    Rule(
        "C-REFUSED", Subject.CITIZEN, Feature.REFUSED_CLAIMS, 20, 0.6, 0,
        zh="该市民的领券请求被拒 {value} 次（阈值 {threshold}）：疑似脚本抢券",
        en="This citizen's claims were refused {value} times (threshold {threshold}): "
        "possibly a claiming script",
    ),
)  # fmt: skip

RULES_BY_ID: Final = {rule.id: rule for rule in RULES}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that fired, with the subject's value."""

    rule_id: str
    value: float
    weight: float


@dataclass(frozen=True, slots=True)
class Assessment:
    subject: Subject
    subject_id: str
    score: float
    findings: tuple[Finding, ...]

    @property
    def opens_case(self) -> bool:
        return self.score >= CASE_THRESHOLD


def assess(
    subject: Subject,
    subject_id: str,
    features: Mapping[str, float],
    rules: Iterable[Rule] = RULES,
) -> Assessment:
    """The subject's score under ``rules`` and the findings that make it up."""
    findings = tuple(
        Finding(rule.id, float(features.get(rule.feature.value, 0)), rule.weight)
        for rule in rules
        if rule.subject is subject and rule.fires(features)
    )
    score = round(sum(f.weight for f in findings), 6)
    return Assessment(subject, subject_id, score, findings)


def explain(rule_id: str, value: float, lang: str) -> str:
    """The reviewer's sentence for a finding (a rule of another version: its id and value)."""
    rule = RULES_BY_ID.get(rule_id)
    if rule is None:
        return f"{rule_id}: {value:g}"
    return rule.explain(value, lang)
