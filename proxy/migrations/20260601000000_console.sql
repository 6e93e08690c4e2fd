-- The partner console's sign-ins: a partner API key exchanged for a cookie. Only the
-- cookie's SHA-256 is kept, so a copy of the database opens no console; sign-out and
-- expiry end a row's use at once.
CREATE TABLE console_sessions (
    token_sha256 VARCHAR(64) PRIMARY KEY,
    expires_at   VARCHAR(40) NOT NULL,
    revoked_at   VARCHAR(40),
    created_at   VARCHAR(40) NOT NULL
);

-- When a session's link was first opened (the widget's session check): the funnel's
-- second step.
ALTER TABLE sessions ADD COLUMN opened_at VARCHAR(40);
CREATE INDEX sessions_created ON sessions (created_at);
