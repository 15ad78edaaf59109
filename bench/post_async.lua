-- wrk script of the ingest benchmark (bench/ingest.py runs it).
--
--   wrk ... -s bench/post_async.lua URL -- BODY_FILE AUTHORIZATION RUN_ID
--
-- Every request POSTs the body in BODY_FILE with the text @@EXTERNAL_ID@@ replaced by a fresh
-- externalId (RUN_ID-thread-counter), so that no request is a client retry. done() prints one
-- line "BENCH_JSON {...}" with the counts and latency percentiles (microseconds).

local threads = {}
local placeholder = "@@EXTERNAL_ID@@"

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   local file = assert(io.open(args[1], "rb"), "cannot open the body file")
   local body = file:read("*a")
   file:close()
   local at = assert(string.find(body, placeholder, 1, true), "no placeholder in the body")
   prefix = string.sub(body, 1, at - 1)
   suffix = string.sub(body, at + #placeholder)
   headers = {
      ["Authorization"] = args[2],
      ["Content-Type"] = "application/json",
   }
   run_id = args[3]
   counter = 0
   non202 = 0
   statuses = {}
end

function request()
   counter = counter + 1
   local external_id = run_id .. "-" .. tid .. "-" .. counter
   return wrk.format("POST", nil, headers, prefix .. external_id .. suffix)
end

function response(status, _headers, _body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   if status ~= 202 then
      non202 = non202 + 1
   end
end

function done(summary, latency, _requests)
   local non = 0
   local codes = {}
   for _, thread in ipairs(threads) do
      non = non + (thread:get("non202") or 0)
      for code, count in pairs(thread:get("statuses") or {}) do
         codes[code] = (codes[code] or 0) + count
      end
   end
   local parts = {}
   for code, count in pairs(codes) do
      table.insert(parts, string.format('"%s": %d', code, count))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non202": %d, '
         .. '"statuses": {%s}, "socket_errors": {"connect": %d, "read": %d, "write": %d, '
         .. '"timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, '
         .. '"max": %d, "mean": %.1f}}\n',
      summary.requests, summary.duration, summary.bytes, non, table.concat(parts, ", "),
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean
   ))
end
