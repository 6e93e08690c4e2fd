-- The health schedule's listing of due onboardings (store/health.rs) walked every connected
-- onboarding by the state index and read each row for its due time: with 1,000,000 stored,
-- a scan of the whole table every listing (every 30 s at rest, every 100 reads when busy),
-- which the growth benchmark saw as POST p99 tripled. With the due time beside the state in
-- one index, the listing reads only the rows that are due.
CREATE INDEX onboardings_state_health ON onboardings (state, health_due_at);
