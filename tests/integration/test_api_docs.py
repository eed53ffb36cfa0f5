"""``/docs`` works offline: Swagger UI comes from the package, never from a CDN; a setting turns
``/docs`` and ``/openapi.json`` off."""

from __future__ import annotations

import dataclasses
import re

from fastapi.testclient import TestClient

from quan.api.app import create_app
from quan.services.runtime import Runtime

_URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?([^'")\s>]+)""")


def test_docs_page_loads_every_asset_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.text
    assert "//" not in "".join(u for u in _URL.findall(html) if not u.startswith("/")), html
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", html), html
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in html
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 10_000  # the real Swagger UI, not an empty stand-in
    assert client.get("/openapi.json").json()["info"]["title"] == "Quan API"


def test_the_setting_turns_docs_and_openapi_off(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"api_docs": False})
    app = create_app(runtime=dataclasses.replace(runtime, settings=settings))
    with TestClient(app) as off:
        assert off.get("/docs").status_code == 404
        assert off.get("/openapi.json").status_code == 404
        assert off.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
        assert off.get("/api/v1/health").status_code == 200


def test_production_serves_no_docs_unless_asked() -> None:
    from quan.config import Settings

    assert not Settings(env="production").api_docs_enabled
    assert Settings(env="production", api_docs=True).api_docs_enabled
    assert Settings(env="development").api_docs_enabled
