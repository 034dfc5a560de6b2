-- wrk script: POST JSON bodies rotating over a pre-generated list (one body per line).
--
--   wrk -t2 -c32 -d10s --timeout 10s -s bench/post_bodies.lua http://127.0.0.1:8701/v1/lookup \
--       -- BODIES_FILE TOKEN
--
-- TOKEN is the bearer token ("-" for none). Every request is formatted once in init();
-- each thread starts at a different offset of the list. done() prints one line
-- "BENCHJSON {...}" (latencies in microseconds) that bench/loadgen.py parses.

local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local prepared = {}
local count = 0
local cursor = 0

function init(args)
  local file, token = args[1], args[2]
  local headers = { ["Content-Type"] = "application/json" }
  if token ~= nil and token ~= "" and token ~= "-" then
    headers["Authorization"] = "Bearer " .. token
  end
  for line in io.lines(file) do
    if #line > 0 then
      count = count + 1
      prepared[count] = wrk.format("POST", nil, headers, line)
    end
  end
  if count == 0 then
    error("no request bodies in " .. tostring(file))
  end
  cursor = ((tid or 0) * 7919) % count
end

function request()
  cursor = cursor + 1
  if cursor > count then
    cursor = 1
  end
  return prepared[cursor]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"tool":"wrk","requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,' ..
    '"timeout_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
