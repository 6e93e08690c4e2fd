-- With ownership verification on, the SHA-256 of the code that verified the onboarding, so
-- the same post sent again is answered idempotently without exchanging the (single-use) code
-- a second time. The code is useless after ~30 seconds and its hash reveals nothing; the
-- token it was exchanged for is never stored.
ALTER TABLE onboardings ADD COLUMN code_sha256 VARCHAR(64);
