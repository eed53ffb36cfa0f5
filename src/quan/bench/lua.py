"""The wrk Lua script: per-request bodies, tokens and idempotency keys, and a JSON summary.

One generated script covers every load the suite makes:

- a *feed* file (one request per line: ``path<TAB>token<TAB>key<TAB>body``) that the wrk threads
  share out line by line (thread ``t`` takes lines ``t, t+T, t+2T...``), prebuilt at start-up so
  a request costs nothing to produce;
- with ``once``, each line is sent exactly once. A connection that finds the feed used up idles
  (``delay`` of a second, then a cheap ``GET`` on the feed's POST path, answered 405 without
  touching the database and left out of every count), and the thread stops once every one of its
  real requests has been answered, printing ``QB-THREAD-DONE <t>``; the harness then ends wrk,
  whose own clock would otherwise wait out the whole duration;
- or one static request, optionally with a fresh ``Idempotency-Key`` per request;
- optional per-status counts (costs a Lua call per response, so only when asked);
- ``done`` prints ``QB-RESULT {json}``: counts, errors, latency percentiles, statuses and the
  monotonic time of each thread's first request and last response (LuaJIT's ffi reads the clock).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

DONE_MARKER = "QB-THREAD-DONE"
RESULT_MARKER = "QB-RESULT"


def _lua_string(value: str) -> str:
    # A JSON string literal is a valid Lua one as long as json.dumps needs no \uXXXX escape,
    # i.e. there is no control character; non-ASCII stays UTF-8, which Lua passes through.
    if any(ord(char) < 0x20 for char in value):
        raise ValueError("control characters cannot go into a load script")
    return json.dumps(value, ensure_ascii=False)


def _lua_table(values: Mapping[str, str]) -> str:
    items = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in values.items())
    return "{" + items + "}"


_PROLOGUE = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } qb_timespec;
int clock_gettime(int clk_id, qb_timespec *tp);
]]
local qb_ts = ffi.new("qb_timespec")
local function now_us()
  ffi.C.clock_gettime(1, qb_ts)  -- CLOCK_MONOTONIC
  return tonumber(qb_ts.tv_sec) * 1000000 + math.floor(tonumber(qb_ts.tv_nsec) / 1000)
end

local threads = {}
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local function split_tabs(line)
  local fields = {}
  local start = 1
  while true do
    local at = string.find(line, "\t", start, true)
    if not at then
      table.insert(fields, string.sub(line, start))
      return fields
    end
    table.insert(fields, string.sub(line, start, at - 1))
    start = at + 1
  end
end

local function headers_for(token, key)
  local headers = {}
  for k, v in pairs(HEADERS) do headers[k] = v end
  if token ~= nil and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  if key ~= nil and key ~= "" then headers["Idempotency-Key"] = key end
  return headers
end

function init(args)
  statuses = {}
  first_us = 0
  last_us = 0
  sent = 0
  finished = 0
  prebuilt = {}
  pos = 0
  if FEED ~= nil then
    local index = 0
    for line in io.lines(FEED) do
      if index % THREADS == tid then
        local f = split_tabs(line)
        local body = f[4]
        if body == "" then body = nil end
        table.insert(prebuilt, wrk.format(METHOD, f[1], headers_for(f[2], f[3]), body))
      end
      index = index + 1
    end
  end
  idle_path = PATH
  if FEED ~= nil and #prebuilt > 0 then
    idle_path = string.match(prebuilt[1], "^%S+ (%S+)")
  end
  idle = wrk.format("GET", idle_path)
  idle_sent = 0
  idle_received = 0
  received = 0
  static = wrk.format(METHOD, PATH, headers_for(nil, nil), BODY)
  verifying = (tid == 0)
end

local function finish()
  if finished == 0 then
    finished = 1
    io.write(DONE_MARKER .. " " .. tid .. "\n")
    io.flush()
  end
  wrk.thread:stop()
end

function request()
  if verifying then
    -- wrk calls request() once on thread 0 to check the script, and never sends that request:
    -- answer without using up a feed line or starting the clock.
    verifying = false
    if FEED ~= nil and #prebuilt > 0 then return prebuilt[1] end
    return static
  end
  if first_us == 0 then first_us = now_us() end
  if FEED ~= nil then
    pos = pos + 1
    if pos > #prebuilt then
      if ONCE then
        if #prebuilt == 0 then finish() end
        idle_sent = idle_sent + 1
        return idle
      end
      pos = 1
    end
    sent = sent + 1
    return prebuilt[pos]
  end
  sent = sent + 1
  if KEY_PREFIX ~= nil then
    return wrk.format(METHOD, PATH, headers_for(nil, KEY_PREFIX .. "-" .. tid .. "-" .. sent), BODY)
  end
  return static
end
"""

_RESPONSE = r"""
function response(status, headers, body)
  if ONCE and status == 405 then
    -- An idle GET's answer (see delay): neither counted nor part of the figures.
    idle_received = idle_received + 1
    return
  end
  statuses[status] = (statuses[status] or 0) + 1
  received = received + 1
  if ONCE then
    if received >= #prebuilt then
      -- Every real request of this thread is answered (idle ones answer 405 at once).
      if last_us == 0 then last_us = now_us() end
      finish()
    end
  else
    last_us = now_us()
  end
end
"""

_DELAY = r"""
function delay()
  -- Feed used up on this thread: idle, rather than send anything the benchmark would count.
  if pos >= #prebuilt then return 1000 end
  return 0
end
"""

_EPILOGUE = r"""
local function json_number_map(map)
  local parts = {}
  for k, v in pairs(map) do table.insert(parts, string.format("\"%s\":%d", tostring(k), v)) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local merged = {}
  local first, last, total_sent, total_idle = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for k, v in pairs(counts) do merged[k] = (merged[k] or 0) + v end
    local f = thread:get("first_us") or 0
    local l = thread:get("last_us") or 0
    if f > 0 and (first == 0 or f < first) then first = f end
    if l > last then last = l end
    total_sent = total_sent + (thread:get("sent") or 0)
    total_idle = total_idle + (thread:get("idle_received") or 0)
  end
  local e = summary.errors
  local out = string.format(
    "{\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"sent\":%d," ..
    "\"errors\":{\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}," ..
    "\"latency_us\":{\"min\":%d,\"mean\":%.1f,\"max\":%d," ..
    "\"p50\":%d,\"p90\":%d,\"p99\":%d,\"p999\":%d}," ..
    "\"statuses\":%s,\"idle\":%d,\"first_us\":%d,\"last_us\":%d}",
    summary.requests, summary.duration, summary.bytes, total_sent,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9),
    json_number_map(merged), total_idle, first, last)
  io.write(RESULT_MARKER .. " " .. out .. "\n")
end
"""


def script(
    *,
    method: str,
    path: str,
    body: str | None,
    headers: Mapping[str, str],
    threads: int,
    feed_path: str | None = None,
    once: bool = False,
    key_prefix: str | None = None,
    count_statuses: bool = False,
) -> str:
    """The Lua source for one load (see the module docstring for what each option does)."""

    def opt(value: str | None) -> str:
        return "nil" if value is None else _lua_string(value)

    constants = "\n".join(
        [
            "-- generated by quan.bench.lua: one load of the Quan benchmark suite",
            f"METHOD = {_lua_string(method)}",
            f"PATH = {_lua_string(path)}",
            f"BODY = {opt(body)}",
            f"HEADERS = {_lua_table(headers)}",
            f"THREADS = {threads}",
            f"FEED = {opt(feed_path)}",
            f"ONCE = {'true' if once else 'false'}",
            f"KEY_PREFIX = {opt(key_prefix)}",
            f"DONE_MARKER = {_lua_string(DONE_MARKER)}",
            f"RESULT_MARKER = {_lua_string(RESULT_MARKER)}",
        ]
    )
    parts = [constants, _PROLOGUE]
    if count_statuses or once:
        parts.append(_RESPONSE)
    if once and feed_path is not None:
        parts.append(_DELAY)
    parts.append(_EPILOGUE)
    return "\n".join(parts)
