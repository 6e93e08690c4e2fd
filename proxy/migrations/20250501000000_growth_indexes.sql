-- Indexes for queries that ran as full scans, found by `cargo xtask bench growth` (with
-- 100,000 sign-ups stored, POST at 8 connections fell from ~390 to ~33 per second, mostly
-- from the deliverer's read-back, now an UPDATE … RETURNING).

-- Webhooks find their onboardings by the WABA or by the number alone.
CREATE INDEX onboardings_number ON onboardings (phone_number_id);

-- The partner API lists by state, newest first; the metrics count by state (a prefix).
DROP INDEX onboardings_state;
CREATE INDEX onboardings_state_created ON onboardings (state, created_at, id);
