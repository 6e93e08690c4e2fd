-- The createTime of the newest YCloud event applied to each onboarding, per object (its WABA,
-- its number): YCloud may deliver or retry events out of order, and an older one must not
-- overwrite what a newer one said.
ALTER TABLE onboardings ADD COLUMN waba_event_at VARCHAR(40);
ALTER TABLE onboardings ADD COLUMN number_event_at VARCHAR(40);
-- Stored events are deleted by age (WEBHOOK_EVENT_RETENTION_DAYS).
CREATE INDEX webhook_events_received ON webhook_events (received_at);
