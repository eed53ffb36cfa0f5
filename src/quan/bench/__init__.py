"""The benchmark suite: every hot path measured against this machine's ceilings.

The suite starts the server the way production runs it (``quan serve`` in its own process, on a
fresh PostgreSQL database or SQLite file), loads it from the same box with wrk (or an asyncio
httpx fallback), and measures, in the same run and with the same server software and worker
count, three ceilings: a raw ASGI app (HTTP), a trivial FastAPI app (framework) and the raw
database operation (storage). Every throughput is reported as a ratio to each ceiling.

Layout:

- ``contract``: the result every benchmark returns and the one-JSON-object-last-line contract.
- ``machine``, ``procs``, ``stats``: what the run ran on, peak memory, medians.
- ``databases``, ``server``: a fresh migrated database, a server process started and stopped.
- ``lua``, ``wrk``, ``pyload``, ``load``: load generation.
- ``ceiling_apps``, ``ceiling_serve``, ``storage``, ``ceilings``: the three ceilings.
- ``registry``, ``context``, ``seed``, ``benchmarks/``: the benchmarks and what they share;
  ``claim_path``, ``redeem_path``, ``scale``: seeding and reading back the claim and
  redemption paths.
- ``targets``, ``report``, ``suite``: the targets, ``docs/benchmarks.md``, ``make bench``.
"""
