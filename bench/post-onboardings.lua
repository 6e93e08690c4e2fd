-- wrk script: POST /api/onboardings, each request a distinct waba_id and phone_number_id.
-- Ids: a per-run prefix (seconds since the epoch, so two runs against one database never
-- collide), the wrk thread number, a per-thread counter, then a 1, so that no WABA id ends in
-- one of the fake YCloud's special suffixes (402, 429, 500: proxy/src/sandbox.rs) and every
-- sign-up takes the happy path. All digits, at most 32.
-- wrk itself reports answers that are not 2xx ("Non-2xx or 3xx responses").
counter = 0
thread_no = 0 -- set per thread by setup()
local created = 0
local prefix = tostring(os.time())

function setup(thread)
  created = created + 1
  thread:set("thread_no", created)
end

function request()
  counter = counter + 1
  local unique = string.format("%s%02d%09d", prefix, thread_no, counter)
  local body = string.format(
    '{"mode":"standard","waba_id":"1%s1","phone_number_id":"2%s1","customer_ref":"bench"}',
    unique, unique)
  return wrk.format("POST", "/api/onboardings", { ["Content-Type"] = "application/json" }, body)
end
