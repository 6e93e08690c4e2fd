-- Indexes for queries that ran as full scans, found by `cargo xtask bench growth`: with
-- 100,000 sign-ups stored, POST at 8 connections fell from ~390 to ~33 per second.

-- The deliverer reads back the events of its round by lease_owner, on the writer, every
-- round. Delivered and failed events have no lease_owner, so the index stays small.
CREATE INDEX partner_events_leased ON partner_events (lease_owner) WHERE lease_owner IS NOT NULL;

-- Webhooks find their onboardings by the WABA or by the number alone.
CREATE INDEX onboardings_number ON onboardings (phone_number_id);

-- The partner API lists by state, newest first; the metrics count by state (a prefix).
DROP INDEX onboardings_state;
CREATE INDEX onboardings_state_created ON onboardings (state, created_at, id);
