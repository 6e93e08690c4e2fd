-- The onboarding a session reauthorizes: its page launches Embedded Signup prefilled with
-- that onboarding's WABA, and its sign-in may only renew that onboarding's business token.
ALTER TABLE sessions ADD COLUMN reauthorize_onboarding_id TEXT;
