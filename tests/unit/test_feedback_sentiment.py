"""Chinese sentiment and topics, offline (issue 22): the lexicon scorer agrees with the
hand-labelled set kept in the repository on at least 80% of its items; topics group by keywords;
jieba writes its cache where it is told, not to the system's temporary directory."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from quan.domain.feedback import mask_personal_numbers
from quan.services.feedback import analysis

LABELLED = Path(__file__).parents[1] / "testdata" / "feedback_sentiment_zh.tsv"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("jieba")
    analysis.configure(where)
    return where


def _items() -> list[tuple[str, str]]:
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t")
            rows.append((label, text))
    return rows


def test_the_labelled_set_is_large_enough_and_covers_every_label() -> None:
    items = _items()
    assert len(items) >= 50
    assert {label for label, _ in items} == {"negative", "neutral", "positive"}


def test_sentiment_agrees_with_the_hand_labelled_set_on_80_percent(cache: Path) -> None:
    items = _items()
    wrong = [(label, text) for label, text in items if analysis.analyse(text).label != label]
    agreement = 1 - len(wrong) / len(items)
    assert agreement >= 0.8, wrong


def test_jieba_keeps_its_cache_where_it_was_told(cache: Path) -> None:
    """Where the process's first analysis configured it (another test may have come first)."""
    analysis.analyse("测试")
    where = Path(analysis._segmenter().tmp_dir)
    assert where != Path(tempfile.gettempdir())
    assert any(where.glob("jieba*.cache"))


def test_negation_degree_and_contrast(cache: Path) -> None:
    assert analysis.analyse("服务很好").sentiment > analysis.analyse("服务好").sentiment > 0
    assert analysis.analyse("服务不好").label == "negative"
    assert analysis.analyse("没有问题，挺好").label == "positive"
    assert analysis.analyse("店员很热情，但是结算太慢了").label == "negative"


def test_topics_are_keyword_groups(cache: Path) -> None:
    assert analysis.analyse("商户拒收消费券").topic == "refusal"
    assert analysis.analyse("用券前先涨价").topic == "price"
    assert analysis.analyse("验证码一直收不到，页面卡顿").topic == "app"
    assert analysis.analyse("今天天气不错").topic == "other"


def test_phone_and_id_numbers_are_masked() -> None:
    text = "我的电话 +86 138-0013-8000，身份证 11010519491231002X，券码 1234"
    assert mask_personal_numbers(text) == "我的电话 ***，身份证 ***，券码 1234"
