-- wrk script of benches/load.sh: POSTs RFC 8693 token exchanges with HTTP Basic client auth.
--
-- Environment (set by load.sh):
--   TB_AUTH     the Authorization header value ("Basic …")
--   TB_TOKENS   a file of subject tokens, one per line
--   TB_CYCLE    unset: every request sends the first token (wrk then builds the request once);
--               set: each token is sent once, split between the threads, and a thread stops
--               when it has its share's answers (filling an exchange cache)
--   TB_THREADS  with TB_CYCLE: wrk's -t, so each thread knows its share
--
-- done() prints one line the shell parses: RESULT key=value …, latencies in µs.

local form_prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
  .. "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token"
  .. "&subject_token="

local cycle = (os.getenv("TB_CYCLE") or "") ~= ""

local function body(token)
  return form_prefix .. token
end

-- Only the main state runs setup(); it keeps the threads so done() can add up their counters.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("TB_TOKENS")
  assert(path, "TB_TOKENS is unset")
  local file = assert(io.open(path))
  local all = {}
  for line in file:lines() do
    if #line > 0 then
      all[#all + 1] = line
    end
  end
  file:close()
  assert(#all > 0, "no tokens in " .. path)

  non200 = 0
  answered = 0
  wrk.method = "POST"
  wrk.path = "/exchange"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  local auth = os.getenv("TB_AUTH")
  assert(auth, "TB_AUTH is unset")
  wrk.headers["Authorization"] = auth
  wrk.body = body(all[1])

  -- This thread's share of the tokens: every n-th, starting at its id.
  share = {}
  local n = tonumber(os.getenv("TB_THREADS") or "1")
  for i = id + 1, #all, n do
    share[#share + 1] = all[i]
  end
  sent = 0
end

-- wrk decides in the main state whether requests are built once or per request, so request()
-- may only exist in cycle mode.
if cycle then
  function request()
    sent = sent + 1
    -- Past the share (in-flight requests at the end), repeat the first: a cache hit, harmless.
    local token = share[sent] or share[1]
    return wrk.format(nil, nil, nil, body(token))
  end
end

-- Only in cycle mode: a response() makes wrk hand every answer's headers and body to Lua, which
-- costs the shared cores several µs per request. Otherwise wrk's own count of answers over 399
-- (summary.errors.status) is the non-200 count.
if cycle then
  function response(status, headers, resp_body)
    answered = answered + 1
    if status ~= 200 then
      non200 = non200 + 1
      if non200 <= 3 then
        io.stderr:write("non-200 answer: " .. status .. " " .. tostring(resp_body) .. "\n")
      end
    end
    if answered >= #share then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  local non200_total = errors.status
  if cycle then
    non200_total = 0
    for _, thread in ipairs(threads) do
      non200_total = non200_total + thread:get("non200")
    end
  end
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d non200=%d socket_errors=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    non200_total, errors.connect + errors.read + errors.write + errors.timeout))
end
