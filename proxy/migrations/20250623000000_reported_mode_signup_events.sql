-- The mode the customer's button launched, beside `mode` (what Meta reported, and what the
-- onboarding ran). NULL on rows stored before: the same as `mode`.
ALTER TABLE onboardings ADD COLUMN launched_mode VARCHAR(16);

-- Popup outcomes that never create an onboarding (the widget reports them): launches,
-- cancels and errors, for the partner's funnel. `LAUNCH` rows feed only the funnel; cancels
-- and errors also become `signup.cancelled` / `signup.failed` partner events.
CREATE TABLE signup_events (
    id              VARCHAR(40) PRIMARY KEY,   -- sig_ and a UUIDv7: sorts by time
    kind            VARCHAR(16) NOT NULL,      -- LAUNCH | CANCEL | ERROR
    mode            VARCHAR(16) NOT NULL,
    session_id      VARCHAR(36),
    customer_ref    TEXT,
    current_step    VARCHAR(64),
    error_code      VARCHAR(32),
    error_message   TEXT,
    meta_session_id VARCHAR(64),
    created_at      VARCHAR(40) NOT NULL
);
CREATE INDEX signup_events_created ON signup_events (created_at, kind);
