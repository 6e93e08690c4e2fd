-- Several instances may share one PostgreSQL database: the instance running an onboarding's
-- steps holds a lease on its row, renewed while it runs and released at the end. A lease
-- left to expire (its instance crashed or lost the database) may be taken by any instance.
-- lease_until is text in the same fixed-width RFC 3339 UTC as every other time here.
ALTER TABLE onboardings ADD COLUMN lease_owner VARCHAR(64);
ALTER TABLE onboardings ADD COLUMN lease_until VARCHAR(40);

-- One row per phone number, locked (by an upsert) in the transaction that counts the
-- number's register calls and records the next one, so two instances cannot both see nine
-- and both call: the count and the insert are atomic per number. A row lock rather than
-- pg_advisory_xact_lock keeps the SQL portable; SQLite's one writer serialises anyway.
CREATE TABLE register_budgets (
    phone_number_id VARCHAR(32) PRIMARY KEY,
    locked_at       VARCHAR(40) NOT NULL
);
