-- wrk script for bench/keyserver.sh: every request redeems a different one-time code.
-- Codes come from $CODES (one per line); threads interleave so no code is sent twice.
-- $ADDRS (optional, "127.0.0.1:PORT,127.0.0.1:PORT,…"): thread i talks to address
-- i mod n, so one wrk run spreads its connections over several replicas.
local codes = {}
for line in io.lines(os.getenv("CODES")) do codes[#codes + 1] = line end
local viewer = os.getenv("VIEWER")
local threads = {}
local counter = 1

local addrs = {}
for a in string.gmatch(os.getenv("ADDRS") or "", "[^,]+") do addrs[#addrs + 1] = a end

function setup(thread)
  thread:set("tid", counter)
  thread:set("nthreads", tonumber(os.getenv("THREADS")))
  if #addrs > 0 then
    local a = addrs[((counter - 1) % #addrs) + 1]
    local host, port = string.match(a, "^(.*):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  i = 0
  ok, other = 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local idx = tid + i * nthreads
  i = i + 1
  if idx > #codes then idx = ((idx - 1) % #codes) + 1 end
  return wrk.format(nil, "/v1/redeem", nil, '{"code":"' .. codes[idx] .. '","viewer":"' .. viewer .. '"}')
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local okt, othert = 0, 0
  for _, t in ipairs(threads) do
    okt = okt + t:get("ok")
    othert = othert + t:get("other")
  end
  io.write(string.format("RESULT requests=%d ok=%d other=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, okt, othert, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
