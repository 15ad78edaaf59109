-- wrk script of the reads benchmark (bench/reads.py runs it).
--
--   wrk ... -s bench/get_paths.lua URL -- PATHS_FILE AUTHORIZATION
--
-- Every request GETs the next path of PATHS_FILE (one per line, round robin, each thread
-- starting at its own place), so that GETs by id spread over many orders. done() prints one
-- line "BENCH_JSON {...}" with the counts and latency percentiles (microseconds).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   paths = {}
   for line in io.lines(args[1]) do
      if #line > 0 then table.insert(paths, line) end
   end
   assert(#paths > 0, "no paths in the file")
   headers = { ["Authorization"] = args[2], ["Accept"] = "application/json" }
   at = (tid * 7919) % #paths
   bad = 0
end

function request()
   at = at % #paths + 1
   return wrk.format("GET", paths[at], headers)
end

function response(status, headers, body)
   if status ~= 200 and status ~= 206 then bad = bad + 1 end
end

function done(summary, latency, requests)
   local unexpected = 0
   for _, thread in ipairs(threads) do unexpected = unexpected + thread:get("bad") end
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "unexpected": %d, "errors": %d, "seconds": %.3f,' ..
      ' "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, unexpected,
      summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout + summary.errors.status,
      summary.duration / 1e6,
      latency:percentile(50), latency:percentile(99), latency.max))
end
