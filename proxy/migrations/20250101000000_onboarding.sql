-- Portable SQL: runs on SQLite and PostgreSQL alike (ANSI types, text timestamps in
-- RFC 3339 UTC with fixed width, so they sort and compare as text).

CREATE TABLE onboardings (
    id              VARCHAR(36) PRIMARY KEY,
    mode            VARCHAR(16) NOT NULL,
    waba_id         VARCHAR(32) NOT NULL,
    phone_number_id VARCHAR(32),
    business_id     VARCHAR(32),
    customer_ref    TEXT,
    event           VARCHAR(64),
    state           VARCHAR(32) NOT NULL,
    waba            TEXT,          -- YCloud's WABA object, JSON
    phone_number    TEXT,          -- YCloud's phone number object, JSON
    error           TEXT,          -- wire::OnboardingError, JSON
    created_at      VARCHAR(40) NOT NULL,
    updated_at      VARCHAR(40) NOT NULL
);

-- The same WABA and number posted twice is the same onboarding.
CREATE UNIQUE INDEX onboardings_waba_number ON onboardings (waba_id, COALESCE(phone_number_id, ''));
CREATE INDEX onboardings_state ON onboardings (state);

-- One row per step and onboarding, written before the step calls out and after it returns,
-- so a restart knows which steps are done and never calls them again.
CREATE TABLE onboarding_steps (
    onboarding_id VARCHAR(36) NOT NULL REFERENCES onboardings (id),
    step          VARCHAR(32) NOT NULL,   -- bind | check_payment | register | smb_bind
    status        VARCHAR(16) NOT NULL,   -- started | done | failed
    attempts      INTEGER NOT NULL,
    started_at    VARCHAR(40) NOT NULL,
    finished_at   VARCHAR(40),
    result        TEXT,                   -- the upstream object or error, JSON
    PRIMARY KEY (onboarding_id, step)
);

-- Meta allows 10 register requests per number in a moving 72 hours; every call counts.
CREATE TABLE register_attempts (
    id              VARCHAR(36) PRIMARY KEY,
    waba_id         VARCHAR(32) NOT NULL,
    phone_number_id VARCHAR(32) NOT NULL,
    onboarding_id   VARCHAR(36),
    attempted_at    VARCHAR(40) NOT NULL
);
CREATE INDEX register_attempts_number ON register_attempts (phone_number_id, attempted_at);

-- YCloud retries webhooks: each event id is stored once.
CREATE TABLE webhook_events (
    id          VARCHAR(128) PRIMARY KEY,
    type        VARCHAR(128) NOT NULL,
    received_at VARCHAR(40) NOT NULL,
    body        TEXT NOT NULL
);
