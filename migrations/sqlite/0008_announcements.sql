-- Web views (issue 5): announcements a site's displays show in their ticker, each
-- optionally limited to a window [starts_at, ends_at). Instants are fixed-width UTC text,
-- so text comparison is time order.
CREATE TABLE announcements (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    site_id    TEXT NOT NULL REFERENCES sites (id),
    text       TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 280),
    starts_at  TEXT,
    ends_at    TEXT,
    created_at TEXT NOT NULL,
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
) STRICT;
CREATE INDEX announcements_site ON announcements (tenant_id, site_id, created_at);
