-- Onboarding sessions: who the customer is, decided by the partner's backend. The token is
-- never stored, only its SHA-256; `onboardings_created` counts what the session has created
-- (bounded per session), raised in the transaction that inserts each onboarding.
CREATE TABLE sessions (
    id                       VARCHAR(36) PRIMARY KEY,
    token_sha256             VARCHAR(64) NOT NULL UNIQUE,
    customer_ref             TEXT NOT NULL,
    modes                    VARCHAR(64) NOT NULL,   -- comma-separated wire::Mode names
    metadata                 TEXT,                   -- JSON object
    locale                   VARCHAR(16),
    data_localization_region VARCHAR(2),
    onboardings_created      INTEGER NOT NULL,
    expires_at               VARCHAR(40) NOT NULL,
    revoked_at               VARCHAR(40),
    created_at               VARCHAR(40) NOT NULL
);

-- Which session created an onboarding, and whether its customer_ref came from one (1) or
-- from the browser (0: anonymous onboardings, and every onboarding stored before sessions).
ALTER TABLE onboardings ADD COLUMN session_id VARCHAR(36);
ALTER TABLE onboardings ADD COLUMN customer_ref_verified INTEGER NOT NULL DEFAULT 0;
CREATE INDEX onboardings_created ON onboardings (created_at, id);
CREATE INDEX onboardings_customer ON onboardings (customer_ref, created_at);

-- The outbox: every event for the partner, written in the transaction of the change that
-- caused it, then delivered (and listed by the partner API) from here. Ids are `evt_` and
-- a UUIDv7, so they sort by creation time.
CREATE TABLE partner_events (
    id              VARCHAR(40) PRIMARY KEY,
    type            VARCHAR(40) NOT NULL,
    onboarding_id   VARCHAR(36) NOT NULL,
    created_at      VARCHAR(40) NOT NULL,
    data            TEXT NOT NULL,            -- wire::PartnerOnboarding, JSON
    delivery_state  VARCHAR(16) NOT NULL,     -- pending | delivered | failed | disabled
    attempts        INTEGER NOT NULL,
    next_attempt_at VARCHAR(40),              -- when pending: the next POST is due then
    lease_owner     VARCHAR(40),              -- the deliverer's round that holds it
    lease_until     VARCHAR(40),              -- … until then
    last_error      TEXT
);
CREATE INDEX partner_events_due ON partner_events (delivery_state, next_attempt_at);
