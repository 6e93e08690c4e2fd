-- Meta's Cloud API directly (WHATSAPP_PROVIDER=meta).

-- What later steps (resume, polling, deregister) need of an onboarding registered directly
-- with Meta. The business token and the PIN are sealed with TOKEN_ENCRYPTION_KEY
-- (ChaCha20-Poly1305, a random nonce each, the onboarding id as associated data): the
-- database never holds them in clear.
CREATE TABLE meta_credentials (
    onboarding_id            VARCHAR(36) PRIMARY KEY REFERENCES onboardings (id),
    business_token           TEXT,          -- sealed
    pin                      TEXT,          -- sealed
    pin_origin               VARCHAR(16),   -- generated | customer
    data_localization_region VARCHAR(2),    -- chosen when the onboarding was created
    updated_at               VARCHAR(40) NOT NULL
);

-- Meta allows 10 deregister requests per number in a moving 72 hours, like register; they
-- are counted like register calls, under the number's row in register_budgets.
CREATE TABLE deregister_attempts (
    id              VARCHAR(36) PRIMARY KEY,
    waba_id         VARCHAR(32) NOT NULL,
    phone_number_id VARCHAR(32) NOT NULL,
    onboarding_id   VARCHAR(36),
    attempted_at    VARCHAR(40) NOT NULL
);
CREATE INDEX deregister_attempts_number ON deregister_attempts (phone_number_id, attempted_at);
