-- wrk script for scripts/bench-sync.sh: browser beacons (the headers
-- navigator.sendBeacon sends from Chrome, so the bot filter passes them) of
-- page views over 50 paths from 2000 visitors (X-Forwarded-For, which
-- skopos serve believes from loopback). The last line wrk prints is
-- "WRK rps=... p50_ms=... p99_ms=... non2xx=...".
wrk.method = "POST"
wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36"
wrk.headers["Accept"] = "*/*"
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"
wrk.headers["Accept-Language"] = "en-US,en;q=0.9"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.headers["Origin"] = "http://localhost"
wrk.headers["Referer"] = "http://localhost/"
wrk.headers["Sec-Fetch-Site"] = "same-origin"
wrk.headers["Sec-Fetch-Mode"] = "no-cors"
wrk.headers["Sec-Fetch-Dest"] = "empty"
wrk.headers["Sec-Ch-Ua"] = '"Google Chrome";v="143", "Chromium";v="143", "Not A(Brand";v="24"'
wrk.headers["Sec-Ch-Ua-Platform"] = '"Windows"'
wrk.headers["Sec-Ch-Ua-Mobile"] = "?0"
local n = 0
request = function()
  n = n + 1
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["X-Forwarded-For"] = string.format("198.18.%d.%d", math.floor((n % 2000) / 250), (n % 250) + 1)
  local body = string.format('{"type":"pageView","url":"http://localhost/p%d","referrer":""}', n % 50)
  return wrk.format(nil, nil, h, body)
end
done = function(summary, latency, requests)
  io.write(string.format("WRK rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
