-- Shared by every wrk run: optional POST body from the environment, and a one-line
-- JSON summary at the end (latencies in microseconds) that run.py parses.
local method = os.getenv("E2E_METHOD")
if method then
  wrk.method = method
  wrk.body = os.getenv("E2E_BODY") or ""
  wrk.headers["Content-Type"] = os.getenv("E2E_CTYPE") or "application/json"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'E2E {"requests":%d,"duration_us":%d,"non2xx3xx":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
