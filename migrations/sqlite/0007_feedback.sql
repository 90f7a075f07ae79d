-- Feedback customers give after a visit (the feedback flow's `feedback.record`).
CREATE TABLE feedback (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    channel_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    ticket     TEXT,                        -- the ticket number the flow was started for
    scale      TEXT NOT NULL CHECK (scale IN ('csat', 'nps')),
    score      INTEGER NOT NULL,
    comment    TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
) STRICT;
CREATE INDEX feedback_recent ON feedback (tenant_id, created_at);
