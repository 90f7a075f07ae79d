-- Web views (issue 5): paired displays and kiosks. A device opens /display/<key> or
-- /kiosk/<key>; only the SHA-256 of the key is stored, and revoking it locks the device out.
CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    site_id    TEXT NOT NULL REFERENCES sites (id),
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('display', 'kiosk')),
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
CREATE INDEX devices_tenant ON devices (tenant_id, created_at);
