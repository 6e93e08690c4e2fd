-- The redirect flow (full-page sign-in). One row per issued `state`, keyed by its SHA-256:
-- consumed once by a conditional UPDATE (consumed_at), so a state works once across every
-- instance sharing the database. When the customer must choose among several WhatsApp
-- numbers the verified candidates wait here (with the business token sealed, Meta provider
-- only) until the choice; then the created onboarding waits for the page to pick it up
-- with a single-use handle (stored as its SHA-256 too).
CREATE TABLE oauth_states (
    state_sha256    VARCHAR(64) PRIMARY KEY,
    session_id      VARCHAR(36),
    mode            VARCHAR(16) NOT NULL,
    created_at      VARCHAR(40) NOT NULL,
    expires_at      VARCHAR(40) NOT NULL,
    consumed_at     VARCHAR(40),
    candidates      TEXT,          -- JSON, while the customer chooses
    business_token  TEXT,          -- sealed; only while the customer chooses
    code_sha256     VARCHAR(64),
    chosen_at       VARCHAR(40),
    onboarding_id   VARCHAR(36),
    result_sha256   VARCHAR(64),
    result_until    VARCHAR(40),
    picked_up_at    VARCHAR(40)
);
CREATE INDEX oauth_states_result ON oauth_states (result_sha256);
CREATE INDEX oauth_states_created ON oauth_states (created_at);
