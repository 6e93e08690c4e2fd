-- Where the finished page links back to (an https URL on one of ALLOWED_ORIGINS), and the
-- index the partner's list of one customer's sessions reads them by.
ALTER TABLE sessions ADD COLUMN return_url TEXT;
CREATE INDEX sessions_customer ON sessions (customer_ref, created_at);
