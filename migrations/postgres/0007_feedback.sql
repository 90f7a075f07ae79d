-- Feedback customers give after a visit (the feedback flow's `feedback.record`). Same table
-- as migrations/sqlite/0007_feedback.sql, under row-level security.
CREATE TABLE feedback (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    channel_id text NOT NULL,
    contact_id uuid NOT NULL,
    ticket     text,
    scale      text NOT NULL CHECK (scale IN ('csat', 'nps')),
    score      integer NOT NULL,
    comment    text,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
);
CREATE INDEX feedback_recent ON feedback (tenant_id, created_at);
ALTER TABLE feedback ENABLE ROW LEVEL SECURITY;
ALTER TABLE feedback FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON feedback
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON feedback TO smartqueue_app;
