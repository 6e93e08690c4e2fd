-- Several instances may share one PostgreSQL database: the instance running an onboarding's
-- steps holds a lease on its row, renewed while it runs and released at the end. A lease
-- left to expire (its instance crashed or lost the database) may be taken by any instance.
-- lease_until is text in the same fixed-width RFC 3339 UTC as every other time here.
ALTER TABLE onboardings ADD COLUMN lease_owner VARCHAR(64);
ALTER TABLE onboardings ADD COLUMN lease_until VARCHAR(40);

