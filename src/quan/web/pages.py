"""The front page: what this server is and where to go next (the console grows from here)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from quan import __version__
from quan.api.deps import PUBLIC

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Quan 券</title>
<style>
body{{font:18px/1.6 system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;max-width:44rem;
margin:2rem auto;padding:0 1rem;color:#1a1a1a}}
a{{color:#0b57d0}} code{{background:#f1f3f4;padding:0 .3em}}
</style></head><body>
<h1>Quan 券 <small style="font-size:.5em;color:#555">v{version}</small></h1>
<p>{intro}</p>
<ul>
<li><a href="/docs">{docs}</a> · <a href="/openapi.json">OpenAPI</a></li>
<li><a href="/api/v1/health">{health}</a></li>
</ul>
<p><a href="/?lang={other}">{switch}</a></p>
</body></html>"""

_TEXT = {
    "zh": {
        "intro": "服务消费券平台：出资、公平发放、核销结算，每一分钱都可追溯。",
        "docs": "接口文档（可交互）",
        "health": "服务状态",
        "switch": "English",
        "other": "en",
    },
    "en": {
        "intro": "A platform for service consumption voucher programs: funding, fair issuance, "
        "redemption and settlement, with every fen traceable.",
        "docs": "Interactive API documentation",
        "health": "Service health",
        "switch": "中文",
        "other": "zh",
    },
}


@router.get("/", response_class=HTMLResponse, dependencies=[Depends(PUBLIC)])
def home(request: Request, lang: str = "zh") -> HTMLResponse:
    lang = "en" if lang == "en" else "zh"
    text = {k: escape(v) for k, v in _TEXT[lang].items()}
    return HTMLResponse(
        _PAGE.format(lang="en" if lang == "en" else "zh-CN", version=__version__, **text)
    )
