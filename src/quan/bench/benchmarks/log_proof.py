"""``log-proof``: inclusion proofs from a log of ``entries`` leaves (10,000,000 by default).

Building a 10M-entry log through the events table would make this benchmark mostly about
sequencing (which ``log-sequence`` measures); instead the tree is built with the same code on
synthetic leaves: :func:`quan.domain.merkle.nodes_to_append` computes the real subtree hashes,
:func:`quan.store.log.append` stores them exactly as the sequencer does, and a checkpoint is
signed with the log's key. Proofs read only the tree (``log_entries``, ``log_nodes``), so they
cost what they would on a log of real events — and they verify against the signed root.

Two figures: *server time* (:func:`quan.services.transparency.transparency.inclusion_proof`,
exactly what the
route runs, in-process, ``proofs`` random leaves: p50/p99, the first proofs included, with the
process's node cache starting empty), and the HTTP endpoint ``GET /audit/proofs/inclusion`` under
load (req/s, p50/p99).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from quan.bench import seed
from quan.bench.benchmarks.common import http_result
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import SQLITE
from quan.bench.load import LoadSpec, RequestItem
from quan.bench.registry import Benchmark, Params
from quan.bench.stats import percentile
from quan.domain import merkle, merkle_verify
from quan.domain.checkpoint import Checkpoint, sign_checkpoint
from quan.services.runtime import Runtime
from quan.services.transparency import transparency
from quan.store import log as log_store
from quan.store import log_read

_CHUNK = 200_000  # leaves appended per transaction while building


def leaf_hash(index: int) -> bytes:
    return merkle.leaf_hash(b"quan-bench-leaf-%d" % index)


def _leaf_hashes(start: int, stop: int) -> Iterator[bytes]:
    return (leaf_hash(i) for i in range(start, stop))


def build_log(rt: Runtime, entries: int) -> bytes:
    """Append ``entries`` synthetic leaves and sign a checkpoint; returns the root."""
    key = transparency.LogKey.from_settings(rt.settings)
    size = 0
    started = time.perf_counter()
    while size < entries:
        count = min(_CHUNK, entries - size)
        hashes = list(_leaf_hashes(size, size + count))
        with rt.db.write() as tx:
            created = merkle.nodes_to_append(size, hashes, log_read.NodeStore(tx))
            # Event ids far above any real event: log_entries.event_id is unique, not a key.
            first_event = 10**12 + size
            log_store.append(
                tx,
                first_index=size,
                event_ids=range(first_event, first_event + count),
                leaf_hashes=hashes,
                nodes=created,
            )
        size += count
        if size % 2_000_000 < _CHUNK:
            say(f"    built {size:,} / {entries:,} leaves ({time.perf_counter() - started:.0f} s)")
    with rt.db.write() as tx:
        root = merkle.root(size, log_read.NodeStore(tx))
        note = sign_checkpoint(Checkpoint(key.origin, size, root), key.name, key.private_key)
        log_store.save_checkpoint(tx, tree_size=size, root_hash=root, note=note, at=rt.clock.now())
    return root


def server_times(rt: Runtime, size: int, root: bytes, proofs: int) -> tuple[list[float], int]:
    """Milliseconds per proof (read transaction included) and how many failed to verify."""
    rng = random.Random(7)  # noqa: S311 - picks leaves, not a secret
    times: list[float] = []
    invalid = 0
    for _ in range(proofs):
        index = rng.randrange(size)
        started = time.perf_counter()
        proof = transparency.inclusion_proof(rt.db, index, size)  # what the route runs
        times.append((time.perf_counter() - started) * 1000)
        try:
            merkle_verify.verify_inclusion(leaf_hash(index), index, size, proof, root)
        except merkle.MerkleProofError:
            invalid += 1
    return times, invalid


def run(ctx: BenchContext, params: Params) -> BenchResult:
    entries = int(params["entries"])
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            started = time.perf_counter()
            root = build_log(rt, entries)
            build_s = time.perf_counter() - started
            say(f"    log of {entries:,} leaves built in {build_s:.0f} s")
            times, invalid = server_times(rt, entries, root, int(params["proofs"]))
            rng = random.Random(11)  # noqa: S311 - picks leaves, not a secret
            feed = [
                RequestItem(
                    f"/api/v1/audit/proofs/inclusion?index={rng.randrange(entries)}"
                    f"&tree_size={entries}"
                )
                for _ in range(20_000)
            ]
            with ctx.serve(db) as server:

                def make() -> LoadSpec:
                    return ctx.spec(
                        server.spec.base_url, method="GET", feed=feed, count_statuses=True
                    )

                results = ctx.repeat(make)
                server.stop()
        finally:
            rt.db.dispose()
    result = http_result("log-proof", ctx, params, results, make(), server)
    result.figures.update(
        {
            "server_p50_ms": round(percentile(times, 50), 3),
            "server_p99_ms": round(percentile(times, 99), 3),
            "build_s": round(build_s, 1),
        }
    )
    result.checks = {
        "invalid_proofs": invalid,
        "non_2xx": sum(r.errors.get("status", 0) for r in results),
    }
    result.notes.append(
        "tree of synthetic leaves built with the sequencer's merkle and storage code; "
        "server time = transparency.inclusion_proof() as the route runs it, in-process"
    )
    return result


BENCHMARK = Benchmark(
    name="log-proof",
    summary="inclusion proofs at 10,000,000 entries: server time and HTTP",
    run=run,
    params={"entries": 10_000_000, "proofs": 2_000},
    quick_params={"entries": 5_000, "proofs": 50},
    # The target is PostgreSQL's; on SQLite a smaller log keeps the suite's time in bounds.
    per_database={SQLITE: {"entries": 2_000_000}},
    requires=("quan.services.transparency.transparency",),
)
