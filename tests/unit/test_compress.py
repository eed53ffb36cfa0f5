"""Gzip for pages, stylesheets and scripts: whole bodies of those types are compressed with a
weak ETag; streamed bodies, other types, small bodies and clients that refuse gzip get the bytes
as they were."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from quan.api.compress import Compress, accepts_gzip

PAGE = "<p>" + "券" * 2000 + "</p>"


def _rows() -> Iterator[bytes]:
    for i in range(3):
        yield f"row,{i}\n".encode() * 300


def _app() -> Starlette:
    async def page(_: object) -> Response:
        return HTMLResponse(PAGE, headers={"ETag": '"abc"'})

    async def small(_: object) -> Response:
        return HTMLResponse("<p>hi</p>")

    async def csv(_: object) -> Response:
        return StreamingResponse(_rows(), media_type="text/csv")

    async def streamed_page(_: object) -> Response:
        return StreamingResponse(iter([PAGE.encode()] * 2), media_type="text/html")

    async def json(_: object) -> Response:
        return JSONResponse({"text": PAGE})

    app = Starlette(routes=[
        Route("/page", page), Route("/small", small), Route("/csv", csv),
        Route("/streamed", streamed_page), Route("/json", json),
    ])  # fmt: skip
    app.add_middleware(Compress)
    return app


def _get(path: str, encoding: str = "gzip") -> Response:
    with TestClient(_app()) as client:
        return client.get(path, headers={"Accept-Encoding": encoding})  # type: ignore[return-value]


def test_a_page_is_gzipped_with_a_weak_etag_and_vary() -> None:
    answer = _get("/page")
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["etag"] == 'W/"abc"'
    assert "Accept-Encoding" in answer.headers["vary"]
    assert int(answer.headers["content-length"]) < len(PAGE.encode()) // 10
    assert answer.text == PAGE  # httpx undoes the gzip


def test_streamed_bodies_pass_through_as_they_stream() -> None:
    for path in ("/csv", "/streamed"):
        answer = _get(path)
        assert "content-encoding" not in answer.headers, path
    assert _get("/csv").content == b"".join(_rows())


def test_small_bodies_other_types_and_refusing_clients_are_not_compressed() -> None:
    assert "content-encoding" not in _get("/small").headers
    assert "content-encoding" not in _get("/json").headers
    refused = _get("/page", encoding="gzip;q=0, identity")
    assert "content-encoding" not in refused.headers
    assert refused.headers["etag"] == '"abc"'


def test_accept_encoding_is_read_as_the_header_says() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=x")
