-- wrk: print the latency distribution as one JSON line (ms), for bench/run.py's table and chart.
done = function(summary, latency, requests)
  local ps = {}
  for _, p in ipairs({1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9}) do
    ps[#ps + 1] = string.format('"%s": %.3f', p, latency:percentile(p) / 1000)
  end
  io.write(string.format('WRKJSON {"requests": %d, "duration_s": %.3f, "rps": %.2f, "errors": %d, "non2xx_or_errors": %d, ' ..
    '"latency_ms": {"mean": %.3f, "max": %.3f, "percentiles": {%s}}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status,
    latency.mean / 1000, latency.max / 1000, table.concat(ps, ", ")))
end
