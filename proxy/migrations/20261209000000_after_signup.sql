-- After the sign-up: starting over, a first inbound message, the number's health.

-- An onboarding that ended failed or deregistered can be done again: the new one names the
-- old (previous_onboarding_id), the old names its successor (superseded_by) and leaves the
-- idempotency key to it. Only onboardings nobody superseded hold the WABA + number key.
ALTER TABLE onboardings ADD COLUMN previous_onboarding_id VARCHAR(36);
ALTER TABLE onboardings ADD COLUMN superseded_by VARCHAR(36);
DROP INDEX onboardings_waba_number;
CREATE UNIQUE INDEX onboardings_waba_number ON onboardings (waba_id, COALESCE(phone_number_id, ''))
    WHERE superseded_by IS NULL;

-- When the number's first inbound message was seen (only that: never its text).
ALTER TABLE onboardings ADD COLUMN inbound_verified_at VARCHAR(40);

-- The number's health as last read (wire::NumberHealth, JSON), and when it is next due.
ALTER TABLE onboardings ADD COLUMN health TEXT;
ALTER TABLE onboardings ADD COLUMN health_due_at VARCHAR(40);

-- A webhook about an onboarding whose steps are running is not dropped: it waits here (its
-- body is in webhook_events) and is applied once the run has committed its last step.
CREATE TABLE deferred_webhook_events (
    event_id      VARCHAR(128) NOT NULL,
    onboarding_id VARCHAR(36) NOT NULL,
    deferred_at   VARCHAR(40) NOT NULL,
    PRIMARY KEY (onboarding_id, event_id)
);
