"""The benchmark harness against real processes: the ceiling apps, a `quan serve` started and
stopped on SQLite, and one quick benchmark end to end through the CLI (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from quan.bench import databases, procs
from quan.bench.ceiling_apps import CLAIM_PATH, SAMPLE_BODY, fastapi_app, raw_app
from quan.bench.contract import parse_last_line
from quan.bench.server import ServerProcess, quan_serve


def test_the_raw_ceiling_parses_the_body_and_answers_json() -> None:
    with TestClient(raw_app) as client:
        answer = client.post(CLAIM_PATH, json=SAMPLE_BODY)
        broken = client.post(CLAIM_PATH, content=b"{not json")
        health = client.get("/health")

    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "batch_id": SAMPLE_BODY["batch_id"]}
    assert broken.status_code == 422
    assert health.json() == {"status": "ok"}


def test_the_framework_ceiling_validates_its_body() -> None:
    with TestClient(fastapi_app) as client:
        answer = client.post(CLAIM_PATH, json=SAMPLE_BODY)
        invalid = client.post(CLAIM_PATH, json={"batch_id": "b"})

    assert answer.json() == {"ok": True, "batch_id": SAMPLE_BODY["batch_id"]}
    assert invalid.status_code == 422


def test_the_runner_serves_quan_on_a_fresh_sqlite_file_and_stops_every_process(
    tmp_path: Path,
) -> None:
    db = databases.create(databases.SQLITE, tmp_path)
    server = ServerProcess(quan_serve(db.server_env(), 1, tmp_path / "server.log"))
    try:
        with server:
            health = httpx.get(server.spec.base_url + "/api/v1/health").json()
            pid = server.pid
            server.stop()
    finally:
        db.drop()

    assert health["database"] == "sqlite"
    assert health["env"] == "production"
    assert server.memory_report()["server"] > 0
    assert procs.memory(pid) is None  # gone
    assert not Path(db.url.removeprefix("sqlite:///")).exists()


def test_a_quick_benchmark_prints_its_run_as_the_last_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "quan.cli",
            "bench",
            "health",
            "--db",
            "sqlite",
            "--quick",
            "--no-ceilings",
            "--json",
            "--out",
            str(tmp_path / "results"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    run = parse_last_line(done.stdout)
    (result,) = run["results"]
    assert result["benchmark"] == "health"
    assert result["status"] == "ok"
    assert result["figures"]["requests_per_s"] > 0
    assert result["checks"] == {"non_2xx": 0}
    assert result["server"]["peak_rss_mib"]["server"] > 0
    saved = list((tmp_path / "results").glob("*.json"))
    assert len(saved) == 1
    assert json.loads(saved[0].read_text())["results"][0]["status"] == "ok"
