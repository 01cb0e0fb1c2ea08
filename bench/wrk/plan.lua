-- wrk script: requests picked at random from a plan file, bounded in count, optionally
-- paced to a fixed rate, with a one-line JSON summary at the end.
--
--   wrk -t T -c C -d D -s bench/wrk/plan.lua http://127.0.0.1:PORT -- PLAN MAX RATE
--
-- PLAN is a text file of lines:
--   H Name: value         a header sent with every request
--   B /path/to/file       a file sent as the body of every request (an upload)
--   METHOD /path [body]   a request; one is picked at random for each request sent
-- MAX is the most answers each thread waits for: the thread stops at MAX even if the
-- duration is not over, so a run is bounded in count as well as in time.
-- RATE (optional) is requests per second per thread to pace to; 0 or absent sends each
-- request as soon as its connection is free.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

-- Main state: remembers the threads so that done() can add up their counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

-- Thread states.
local prepared = {}
local most = 0
answers = 0
unexpected = 0
-- Answers that were not 2xx, by status code (as text, so that they copy between states).
statuses = {}
-- When this thread sent its first request and got its last answer: a thread that stops
-- at MAX ends before wrk's own clock does, so the rate is worked out from these.
first_sent_ms = 0
last_answer_ms = 0

local function read_plan(path)
  local headers, body, lines = {}, nil, {}
  for line in io.lines(path) do
    local kind, rest = line:match("^(%S+)%s+(.*)$")
    if kind == "H" then
      local name, value = rest:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    elseif kind == "B" then
      local file = assert(io.open(rest, "rb"))
      body = file:read("*a")
      file:close()
    elseif kind then
      table.insert(lines, { kind, rest })
    end
  end
  for _, entry in ipairs(lines) do
    local path, inline = entry[2]:match("^(%S+)%s*(.*)$")
    local request_body = body
    if inline ~= "" then
      request_body = inline
    end
    -- Formatted once: sending then costs no Lua work beyond a random pick.
    table.insert(prepared, wrk.format(entry[1], path, headers, request_body))
  end
  assert(#prepared > 0, "the plan " .. path .. " has no request lines")
end

local function pace(per_second)
  local interval = 1000 / per_second
  local next_slot = nil
  -- Each request takes the next slot of this thread's schedule. After a stall longer
  -- than a second the schedule restarts from now instead of bursting to catch up.
  delay = function()
    local now = now_ms()
    if next_slot == nil or next_slot < now - 1000 then
      next_slot = now
    end
    local wait = next_slot - now
    next_slot = next_slot + interval
    if wait < 0 then
      return 0
    end
    return wait
  end
end

function init(args)
  read_plan(args[1])
  most = tonumber(args[2])
  local rate = tonumber(args[3] or "0")
  if rate > 0 then
    pace(rate)
  end
  math.randomseed(os.time() * 100 + thread_number)
end

function request()
  if first_sent_ms == 0 then
    first_sent_ms = now_ms()
  end
  return prepared[math.random(#prepared)]
end

function response(status, headers, body)
  answers = answers + 1
  last_answer_ms = now_ms()
  if status < 200 or status > 299 then
    unexpected = unexpected + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  end
  if answers >= most then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local not_2xx, active_ms, by_status = 0, 0, {}
  for _, thread in ipairs(threads) do
    not_2xx = not_2xx + (thread:get("unexpected") or 0)
    for status, count in pairs(thread:get("statuses") or {}) do
      by_status[status] = (by_status[status] or 0) + count
    end
    local active = (thread:get("last_answer_ms") or 0) - (thread:get("first_sent_ms") or 0)
    active_ms = math.max(active_ms, active)
  end
  local listed = {}
  for status, count in pairs(by_status) do
    table.insert(listed, string.format('"%s": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "active_us": %d, "bytes": %d, "not_2xx": %d, '
      .. '"statuses": {%s}, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, active_ms * 1000, summary.bytes, not_2xx,
    table.concat(listed, ", "),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean
  ))
end
