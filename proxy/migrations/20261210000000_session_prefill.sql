-- What Embedded Signup's screens open filled in with (wire::Prefill, JSON in Meta's
-- extras.setup shape), checked when the partner created the session.
ALTER TABLE sessions ADD COLUMN prefill TEXT;
