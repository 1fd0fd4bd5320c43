-- wrk's done() hook for bench/run: one line of totals that a program can read, instead of
-- wrk's prose. It adds no per-request hook, so wrk keeps its full speed.
--
--   WRK_REPORT requests=N duration_us=N bytes=N connect=N read=N write=N status=N timeout=N
--              p50_us=N p99_us=N max_us=N
--
-- status: responses with a status of 400 or more (wrk's "Non-2xx or 3xx responses").
-- connect/read/write/timeout: wrk's socket errors (see wrk's README).

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_REPORT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
