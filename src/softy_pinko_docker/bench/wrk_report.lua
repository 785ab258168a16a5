-- wrk calls done() once, after the run: its result as one line of JSON, read by src/softy_pinko_docker/bench.py
-- (instead of parsing wrk's text report).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "latency_us": {"mean": %.1f, "max": %d, "p50": %d, ' ..
    '"p99": %d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(99)))
end
