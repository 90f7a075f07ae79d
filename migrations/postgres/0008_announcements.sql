-- Web views (issue 5): announcements a site's displays show in their ticker, each
-- optionally limited to a window [starts_at, ends_at). Same table as
-- migrations/sqlite/0008_announcements.sql, under row-level security like devices.
CREATE TABLE announcements (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    site_id    uuid NOT NULL REFERENCES sites (id),
    text       text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 280),
    starts_at  timestamptz,
    ends_at    timestamptz,
    created_at timestamptz NOT NULL,
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
);
CREATE INDEX announcements_site ON announcements (tenant_id, site_id, created_at);

ALTER TABLE announcements ENABLE ROW LEVEL SECURITY;
ALTER TABLE announcements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON announcements
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

REVOKE ALL ON announcements FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON announcements TO smartqueue_app;
