-- Web views (issue 5): paired displays and kiosks. A device opens /display/<key> or
-- /kiosk/<key>; only the SHA-256 of the key is stored, and revoking it locks the device out.
CREATE TABLE devices (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    site_id    uuid NOT NULL REFERENCES sites (id),
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('display', 'kiosk')),
    prefix     text NOT NULL,
    key_hash   text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX devices_tenant ON devices (tenant_id, created_at);

ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON devices
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- The key lookup below runs before any tenant is known (the key is the credential), like
-- sq_api_key_by_hash: the owner may read across tenants, the app role may not.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY definer_lookup ON devices FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;

-- Revoked devices are not returned; never the hash.
CREATE FUNCTION sq_device_by_hash(p_key_hash text)
RETURNS TABLE (id uuid, tenant_id uuid, site_id uuid, name text, kind text, prefix text,
               created_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.id, d.tenant_id, d.site_id, d.name, d.kind, d.prefix, d.created_at, d.revoked_at
    FROM public.devices d WHERE d.key_hash = p_key_hash AND d.revoked_at IS NULL
$$;

REVOKE ALL ON devices FROM PUBLIC;
REVOKE ALL ON FUNCTION sq_device_by_hash(text) FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON devices TO smartqueue_app;
GRANT EXECUTE ON FUNCTION sq_device_by_hash(text) TO smartqueue_app;
