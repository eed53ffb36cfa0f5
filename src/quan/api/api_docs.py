"""``/docs``: Swagger UI from the ``swagger-ui-bundle`` package, so the page works offline.

FastAPI's own ``/docs`` loads Swagger UI's script and style sheet from a CDN, and its favicon from
fastapi.tiangolo.com: behind a government network with no way out the page stays blank. Here the
same files (Swagger UI, Apache-2.0, shipped in the ``swagger-ui-bundle`` wheel) are served under
``/docs/assets/``. ``QUAN_API_DOCS`` turns ``/docs`` and ``/openapi.json`` off (docs/operations.md).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = "/docs/assets"


def install(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
