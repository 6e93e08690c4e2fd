-- wrk script: POST /api/onboardings, each request a distinct waba_id and phone_number_id.
-- Ids: a per-run prefix (seconds since the epoch, so two runs against one database never
-- collide), the wrk thread number, a per-thread counter, then a 1, so that no WABA id ends in
-- one of the fake YCloud's special suffixes (402, 429, 500: proxy/src/sandbox.rs) and every
-- sign-up takes the happy path. All digits, at most 32.
-- Sessions: when WA_BENCH_TOKENS names a file of session tokens (one per line, created by
-- `cargo xtask bench` through the partner API), each post carries one, a fresh token every 5
-- posts (a session creates at most 5 onboardings). Each wrk run takes its own slice of the
-- file (WA_BENCH_TOKEN_OFFSET), split between the threads (WA_BENCH_TOKENS_PER_THREAD). Past
-- the slice, posts go without a session and are refused: wrk counts them as non-2xx.
-- wrk itself reports answers that are not 2xx ("Non-2xx or 3xx responses").
counter = 0
thread_no = 0 -- set per thread by setup()
local created = 0
local prefix = tostring(os.time())
local tokens = {}
local offset = tonumber(os.getenv("WA_BENCH_TOKEN_OFFSET") or "0")
local per_thread = tonumber(os.getenv("WA_BENCH_TOKENS_PER_THREAD") or "0")

function setup(thread)
  created = created + 1
  thread:set("thread_no", created)
end

function init(args)
  local path = os.getenv("WA_BENCH_TOKENS")
  if path then
    for line in io.lines(path) do
      tokens[#tokens + 1] = line
    end
  end
end

function request()
  local token = tokens[offset + (thread_no - 1) * per_thread + math.floor(counter / 5) + 1]
  counter = counter + 1
  local unique = string.format("%s%02d%09d", prefix, thread_no, counter)
  local session = ""
  if token and math.floor((counter - 1) / 5) < per_thread then
    session = string.format(',"session":"%s"', token)
  end
  local body = string.format(
    '{"mode":"standard","waba_id":"1%s1","phone_number_id":"2%s1"%s}',
    unique, unique, session)
  return wrk.format("POST", "/api/onboardings", { ["Content-Type"] = "application/json" }, body)
end
