"""The Chinese sentiment lexicon of Quan's feedback analysis (issue 22).

Licence: written for Quan by its contributors and distributed under the project's licence (the
``license`` of ``pyproject.toml``); no third-party word list was copied. It is small and aimed at
what people write about service-consumption vouchers: refusals at the counter, prices, claiming,
expiry, the app, settlement. Extend it as complaints show words it misses; the hand-labelled
set in ``tests/testdata/feedback_sentiment_zh.tsv`` must keep agreeing
(``tests/unit/test_feedback_sentiment.py``).

Format (one entry a line, ``#`` starts a comment): ``word<TAB>weight`` for sentiment words
(-2 … +2), ``word<TAB>NEG`` for negators, ``word<TAB>DEG:<factor>`` for degree adverbs,
``word<TAB>BUT`` for contrast words (what follows weighs more).
"""

from __future__ import annotations

from typing import Final

LEXICON: Final = """
# negative: refusals and unfair treatment
拒收	-2
拒绝	-2
不收	-2
不让用	-2
不给用	-2
不能用	-1.5
用不了	-1.5
无法使用	-1.5
刁难	-2
推脱	-1.5
推诿	-1.5
敷衍	-1.5
欺骗	-2
骗人	-2
坑人	-2
忽悠	-1.5
强制	-1
捆绑	-1
# negative: prices
加价	-2
涨价	-1.5
变相	-1
多收	-2
乱收费	-2
贵	-1
太贵	-1.5
宰客	-2
虚高	-1.5
先涨后降	-2
# negative: feelings and judgements
失望	-2
生气	-2
愤怒	-2
气愤	-2
不满	-1.5
投诉	-0.5
差	-1.5
很差	-2
太差	-2
差劲	-2
糟糕	-2
恶劣	-2
垃圾	-2
离谱	-1.5
过分	-1.5
无语	-1.5
麻烦	-1
繁琐	-1
复杂	-0.5
慢	-1
太慢	-1.5
很慢	-1.5
卡顿	-1.5
闪退	-1.5
崩溃	-1.5
出错	-1.5
故障	-1.5
错误	-1
问题	-0.5
难	-1
抢不到	-1.5
没抢到	-1.5
领不到	-1.5
白跑	-1.5
排队	-0.5
等了	-0.5
不公平	-2
不合理	-1.5
不透明	-1.5
黑幕	-2
作废	-1
过期	-0.5
丢失	-1
扣了	-1
没到账	-1.5
拖欠	-2
延迟	-1
冷淡	-1.5
态度差	-2
态度恶劣	-2
不耐烦	-1.5
吵	-1
骂	-2
坑	-1.5
虚假	-2
假的	-1.5
浪费	-1
后悔	-1.5
担心	-0.5
不好	-1.5
不行	-1.5
不方便	-1.5
不满意	-2
# positive
满意	2
很满意	2
非常满意	2
好	1
很好	1.5
不错	1.5
挺好	1.5
方便	1.5
便捷	1.5
快捷	1.5
简单	1
顺利	1.5
及时	1.5
热情	1.5
耐心	1.5
周到	1.5
专业	1
实惠	1.5
划算	1.5
优惠	1
省钱	1.5
省了	1
值	1
值得	1.5
感谢	1.5
谢谢	1.5
点赞	2
赞	1.5
支持	1
喜欢	1.5
开心	1.5
高兴	1.5
惊喜	1.5
给力	1.5
好评	2
解决	1
已解决	1.5
认可	1
公平	1
透明	1
清楚	0.5
快	0.5
# negators
不	NEG
没	NEG
没有	NEG
未	NEG
别	NEG
无	NEG
并不	NEG
从不	NEG
不太	NEG
不够	NEG
# degree adverbs
很	DEG:1.5
非常	DEG:2
太	DEG:1.8
特别	DEG:1.8
十分	DEG:1.8
极其	DEG:2
真	DEG:1.5
超级	DEG:2
越来越	DEG:1.3
有点	DEG:0.7
有些	DEG:0.7
稍微	DEG:0.6
比较	DEG:0.9
# contrast
但	BUT
但是	BUT
可是	BUT
不过	BUT
却	BUT
然而	BUT
"""
