-- The browser's bearer tokens: `POST /api/onboardings` answers one per call, and reading,
-- following, retrying and the PIN need it. Only its SHA-256 is kept; it works while the
-- session that created it (if any) is live.
CREATE TABLE client_tokens (
    token_sha256  VARCHAR(64) PRIMARY KEY,
    onboarding_id VARCHAR(36) NOT NULL,
    session_id    VARCHAR(36),
    created_at    VARCHAR(40) NOT NULL
);
CREATE INDEX client_tokens_onboarding ON client_tokens (onboarding_id);

-- PINs the customer sent for an onboarding (never the PIN itself): at most 3 in 24 hours,
-- until the partner retries the onboarding (which deletes them).
CREATE TABLE pin_attempts (
    id            VARCHAR(36) PRIMARY KEY,
    onboarding_id VARCHAR(36) NOT NULL,
    attempted_at  VARCHAR(40) NOT NULL
);
CREATE INDEX pin_attempts_onboarding ON pin_attempts (onboarding_id, attempted_at);

-- One row `GET /healthz` writes: the proxy is healthy only while the store takes writes.
CREATE TABLE health_checks (
    id         INTEGER PRIMARY KEY,
    checked_at VARCHAR(40) NOT NULL
);
