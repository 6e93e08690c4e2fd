-- The health schedule lists due onboardings one term at a time (store/health.rs,
-- DUE_TERMS), each in the order of its due time and id, up to the listing's limit. With the
-- id in the index beside the state and the due time, each term is a walk of the index that
-- stops at the limit; without it, every due row was read and sorted to take the first
-- hundred (the whole table, with a million numbers due).
DROP INDEX onboardings_state_health;
CREATE INDEX onboardings_state_health ON onboardings (state, health_due_at, id);
