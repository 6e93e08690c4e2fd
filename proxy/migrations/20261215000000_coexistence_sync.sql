-- Where a coexistence onboarding's contacts and history sync stands (wire::CoexistenceSync,
-- JSON): states, progress numbers and Meta's request ids only, never a contact or a message.
ALTER TABLE onboardings ADD COLUMN sync TEXT;
