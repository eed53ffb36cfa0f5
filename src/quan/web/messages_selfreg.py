"""Messages of the citizen's self-registration pages (the wallet's "register" way in)."""

from __future__ import annotations

from typing import Final

SELFREG: Final[dict[str, tuple[str, str]]] = {
    "selfreg.link": ("还没有账号？用手机号自助注册", "No account yet? Register with your phone"),
    "selfreg.title": ("居民自助注册", "Register as a resident"),
    "selfreg.intro": (
        "用本人实名登记的手机号注册：先获取短信验证码，再填写姓名和身份证号码。我们会向实名核验机构"
        "核对这三项是否属于同一人。",
        "Register with a mobile number held in your own name: get an SMS code, then give your "
        "name and ID number. We check with an identity-verification service that the three "
        "belong to one person.",
    ),
    "selfreg.assisted": (
        "没有手机，或手机号不是用本人身份证登记的？请携带身份证到社区服务中心，工作人员会为您登记并代为领券。",
        "No mobile phone, or one not registered in your name? Bring your ID card to a "
        "community service centre: staff register you and can claim vouchers for you.",
    ),
    "selfreg.off": (
        "本平台未开通在线自助注册。请携带身份证到社区服务中心登记。",
        "Online self-registration is not offered here. Please bring your ID card to a "
        "community service centre.",
    ),
    "selfreg.send_code": ("获取注册验证码", "Send me a registration code"),
    "selfreg.code_sent": (
        "如果该号码尚未注册，验证码短信已发出，5 分钟内有效；如果已注册，短信会提示您直接登录。",
        "If this number has no account yet, a code is on its way by SMS (valid for five "
        "minutes); if it has one, the SMS tells you to sign in instead.",
    ),
    "selfreg.step_phone": ("第 1 步，共 2 步：手机号", "Step 1 of 2: your phone"),
    "selfreg.step_details": (
        "第 2 步，共 2 步：验证码和身份信息",
        "Step 2 of 2: code and identity",
    ),
    "selfreg.name": ("姓名（与身份证一致）", "Name (as on your ID card)"),
    "selfreg.resident_id": ("居民身份证号码（18 位）", "Resident ID number (18 characters)"),
    "selfreg.region": ("居住地区", "Where you live"),
    "selfreg.region_same": ("与身份证号码所属地区相同", "Same as on my ID card"),
    "selfreg.region_hint": (
        "用于判断您能领取哪些地区的消费券。",
        "Decides which areas' vouchers you may claim.",
    ),
    "selfreg.region_code": (
        "居住地区代码（6 位，可留空表示与身份证相同）",
        "Region code (6 digits; empty: as on your ID card)",
    ),
    "selfreg.consent_title": ("个人信息处理说明", "How we use your personal data"),
    "selfreg.consent_version": ("版本 {version}", "Version {version}"),
    "selfreg.consent_accept": (
        "我已阅读并同意以上个人信息处理说明",
        "I have read and accept how my personal data is used, as described above",
    ),
    "selfreg.submit": ("核验并注册", "Check and register"),
    "selfreg.new_code": (
        "验证码已用过，请重新获取后再提交。",
        "That code has been used; get a new one, then submit again.",
    ),
    "selfreg.done_title": ("注册成功", "You are registered"),
    "selfreg.done_intro": (
        "实名核验已通过，您已登录。下面是目前正在发放的消费券，以及您是否可以领取。",
        "Your identity was confirmed and you are signed in. Below are the vouchers being "
        "handed out now, and whether you may claim them.",
    ),
    "selfreg.done_name": ("姓名", "Name"),
    "selfreg.done_id": ("身份证号码", "ID number"),
    "selfreg.done_region": ("居住地区", "Where you live"),
    "selfreg.eligible_count": (
        "您现在可以领取或参加 {count} 个批次。",
        "You may claim or enter {count} batch(es) now.",
    ),
    "selfreg.none_eligible": (
        "目前没有您可以领取的批次，原因见下。新的批次开放时，可以在券包中查看。",
        "No batch is open to you right now; the reasons are below. New batches show in your "
        "wallet when they open.",
    ),
    "selfreg.to_wallet": ("进入我的券包", "Go to my wallet"),
}
