-- Each POST of a partner event, as the deliverer recorded it: when, how long it took, the
-- receiver's HTTP status (NULL when no answer came: a timeout or a refused connection) or
-- the transport error, and when the next attempt was then due. Numbered per event (the
-- event's `attempts` after it); only the newest 20 of an event are kept, so a receiver
-- redelivered to again and again cannot grow the table without bound.
CREATE TABLE partner_event_attempts (
    event_id        VARCHAR(40) NOT NULL REFERENCES partner_events (id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL,
    attempted_at    VARCHAR(40) NOT NULL,
    duration_ms     BIGINT NOT NULL,
    status          INTEGER,
    error           TEXT,
    next_attempt_at VARCHAR(40),
    PRIMARY KEY (event_id, attempt)
);
