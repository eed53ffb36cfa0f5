"""``relay``: the outbox relay sending to a local HTTP sink (messages/s) — target ≥ 2,000/s on
PostgreSQL (issue 25).

Messages are queued in bulk through :func:`quan.channels.outbox.enqueue` (sealed as in
production, not timed); the relay (:class:`quan.services.delivery.relay.Relay`, as ``quan
worker`` builds it, with the generic HTTP provider) then runs until none is due, timed. The sink
is an asyncio HTTP server in another process that answers 200 and counts the distinct
``Idempotency-Key`` values it received; the checks: every message delivered and received.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import socket
import time
import urllib.request
from datetime import timedelta

from sqlalchemy import func, select

from quan.bench import seed
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.registry import Benchmark, Params


def _sink(port: int) -> None:
    seen: set[str] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
                }
                await reader.readexactly(int(headers.get("content-length", "0")))
                if lines[0].startswith("GET"):
                    body = str(len(seen)).encode()
                else:
                    seen.add(headers.get("idempotency-key", ""))
                    body = b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(ctx: BenchContext, params: Params) -> BenchResult:
    from quan.channels import outbox as box
    from quan.services.delivery.worker_relay import build
    from quan.services.people.citizens import CitizenKeys
    from quan.store.tables import outbox

    count = int(params["messages"])
    port = _free_port()
    sink = multiprocessing.get_context("spawn").Process(target=_sink, args=(port,), daemon=True)
    sink.start()
    time.sleep(1.0)
    try:
        with ctx.fresh_database() as db:
            rt = seed.runtime(db)
            try:
                keys = CitizenKeys.from_settings(rt.settings).outbox
                keys = type(keys)(keys.sealing, keys.recipient_lookup, timedelta(days=90))
                say(f"    queueing {count:,} sealed messages")
                with rt.db.write() as tx:
                    for n in range(count):
                        box.enqueue(
                            tx,
                            rt.clock.now(),
                            keys,
                            channel="sms",
                            recipient=f"139{n:08d}",
                            subject="citizen.otp.login",
                            body=f"code {n:06d}",
                            params={"code": f"{n:06d}"},
                        )
                settings = rt.settings.model_copy(
                    update={
                        "sms_provider": "http",
                        "sms_http_url": f"http://127.0.0.1:{port}/sms",
                        "delivery_batch": int(params["batch"]),
                        "delivery_concurrency": int(params["concurrency"]),
                    }
                )
                relay = build(dataclasses.replace(rt, settings=settings))
                started = time.perf_counter()
                while relay.drain(rt.clock.now, 60.0).claimed:
                    pass
                seconds = time.perf_counter() - started
                relay.close()
                with rt.db.read() as tx:
                    delivered = int(
                        tx.execute(
                            select(func.count()).where(outbox.c.status == "delivered")
                        ).scalar_one()
                    )
            finally:
                rt.db.dispose()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/count") as answer:
            received = int(answer.read())
    finally:
        sink.kill()
    rate = round(count / seconds, 1) if seconds > 0 else 0.0
    say(f"    {count:,} messages in {seconds:.2f} s: {rate:,.0f}/s")
    return BenchResult(
        benchmark="relay",
        database=ctx.database,
        figures={"messages_per_s": rate, "seconds": round(seconds, 2)},
        throughput="messages_per_s",
        checks={"not_delivered": count - delivered, "not_received": count - received},
        params=params,
        runs=[{"messages_per_s": rate}],
        notes=[
            "in-process relay (quan.services.delivery.relay) to an asyncio HTTP sink in"
            " another process; messages sealed as in production"
        ],
    )


BENCHMARK = Benchmark(
    name="relay",
    summary="the outbox relay sending to a local HTTP sink (messages/s)",
    run=run,
    params={"messages": 20_000, "batch": 500, "concurrency": 32},
    quick_params={"messages": 2_000},
    requires=("quan.services.delivery.relay",),
    http=False,
    storage_ratio=False,
)
