"""The consent a citizen gives when registering themselves: its text, in zh-CN and English, and
its version.

What is recorded is the version and the SHA-256 of both texts as shown, with the time: enough
to prove which words a citizen agreed to, without any personal data. A change of wording is a
new version (and a new hash); the form always carries the version it showed, and a
registration that accepted an older version is asked again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConsentText:
    version: str
    zh: tuple[str, ...]  # paragraphs
    en: tuple[str, ...]

    @property
    def sha256(self) -> str:
        text = "\n".join((self.version, *self.zh, "", *self.en))
        return hashlib.sha256(text.encode()).hexdigest()


SELF_REGISTRATION = ConsentText(
    version="2026-12-selfreg-1",
    zh=(
        "为确认您本人的身份并发放服务消费券，我们将处理您的姓名、居民身份证号码和手机号码。",
        "为核验这三项是否属于同一人，我们会把它们发送给实名核验服务机构（运营商三要素核验），"
        "核验结果只用于本次注册。",
        "您的个人信息加密保存，工作人员只能看到部分遮蔽的信息；查看完整信息须说明理由并留痕。"
        "您的信息不会用于本平台消费券以外的用途。",
        "您可以随时到社区服务中心查询、更正您的信息或注销账号。",
    ),
    en=(
        "To confirm who you are and issue service vouchers, we process your name, resident ID "
        "number and mobile number.",
        "To check that the three belong to one person, we send them to an identity-verification "
        "service (the carrier's three-element check); its answer is used for this "
        "registration only.",
        "Your personal data is stored encrypted; staff see it masked, and seeing it in full "
        "requires a stated reason and is recorded. It is used for this platform's vouchers "
        "only.",
        "You may ask a service centre at any time to see or correct your data or to close "
        "your account.",
    ),
)
