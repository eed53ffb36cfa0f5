"""docs/quickstart.md cannot go stale: its command blocks run, in order, against a live server.

Every fenced ``sh`` block of the page is concatenated into one bash script (``set -euo pipefail``:
any failing command, ``curl`` answering a 4xx included, fails the test) and run in an empty
directory with the page's own ``quan serve``, on SQLite with a fresh ``var/``, as a newcomer
would. The page says only what runs here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "quickstart.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script() -> str:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 10, "the quickstart lost its command blocks"
    # The page runs from the repository root (for .venv/bin); the test from a scratch folder.
    return "set -euo pipefail\n" + "\n".join(blocks)


@pytest.mark.skipif(not all(Path(f"/usr/bin/{t}").exists() for t in ("curl", "jq")),
                    reason="the quickstart needs curl and jq")  # fmt: skip
def test_every_command_of_the_quickstart_runs_against_a_live_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUAN_")}
    env.update(
        QUAN_ENV="development",
        QUAN_VAR_DIR=str(tmp_path / "var"),
        PORT=str(_free_port()),
        # `export PATH="$PWD/.venv/bin:$PATH"` of the page, for this interpreter's environment.
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    process = subprocess.Popen(
        ["bash", "-c", script()], cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=300)
    finally:
        # The page's server runs in the script's process group: end the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    log = tmp_path / "quan-serve.log"
    server_log = log.read_text()[-3000:] if log.exists() else ""
    assert process.returncode == 0, f"{output[-6000:]}\n--- server ---\n{server_log}"
    # What the page says the commands answer.
    assert '{"available_fen":0,"pending_contributions_fen":150000000}' in output
    assert "MAKER_CHECKER_SAME_PERSON" in output
    assert '{"available_fen":150000000,"identity_holds":true}' in output
    assert '{"available_fen":149700000,"reserved_fen":300000}' in output
    assert '{"status":"active","summary":"满 ¥100.00 减 ¥30.00"}' in output
    assert '{"discount_fen":3000,"customer_pays_fen":9800,"channel":"online"}' in output
    assert '{"redemption_count":1,"payout_fen":3000}' in output
    assert '{"statements":1,"amount_fen":3000}' in output
    assert '{"paid_fen":3000,"identity_holds":true}' in output
    assert "ledger ok" in output
    # And every answer the page quotes (`{"…": …}` in its text) is one the commands printed.
    quoted = re.findall(r'`(\{".*?\})`', PAGE.read_text(encoding="utf-8"))
    assert len(quoted) >= 6
    for answer in quoted:
        assert answer in output, f"the page quotes {answer}, the commands did not print it"
