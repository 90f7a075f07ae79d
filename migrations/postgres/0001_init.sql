-- SmartQueue on PostgreSQL, version 1 (the SQLite twin is migrations/sqlite/0001_init.sql).
--
-- Run by the *owner* (the migration user of the URL given to PostgresStore::connect*). The
-- application works as the role `smartqueue_app`, which
--   * owns nothing, is not a superuser and cannot bypass row-level security;
--   * holds only DML on these tables (no DDL, no TRUNCATE, no UPDATE/DELETE on the
--     append-only audit_log and ticket_events, nothing at all on refresh_tokens);
--   * sees a tenant-owned row only when the row's tenant_id equals the transaction-local
--     setting `app.tenant_id` (ENABLE + FORCE ROW LEVEL SECURITY on every such table).
-- Lookups that come before the tenant is known (login by e-mail, API key by hash, user by
-- id, refresh-token rotation) go through the SECURITY DEFINER functions at the end of this
-- file, which return only the columns the caller needs.

-- ---- the application role ---------------------------------------------------------------
-- Roles are cluster-wide while this migration runs once per database, and test suites
-- migrate many databases of one cluster at the same time: create the role idempotently and
-- tolerate losing the race (duplicate_object, or unique_violation on pg_authid). Look first:
-- an owner without CREATEROLE may use a role an administrator created beforehand.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'smartqueue_app') THEN
        CREATE ROLE smartqueue_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
            NOREPLICATION;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- A pre-existing role of that name must not be able to step around the policies.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles
               WHERE rolname = 'smartqueue_app' AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role smartqueue_app must be NOSUPERUSER NOBYPASSRLS';
    END IF;
END
$$;

-- `connect` (one URL) runs `SET ROLE smartqueue_app` on the owner's connections, which needs
-- membership unless the owner is a superuser. Best effort: with a separate app login
-- (`connect_with(admin, Some(app))`) membership is not needed.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'smartqueue_app', 'MEMBER') THEN
        EXECUTE format('GRANT smartqueue_app TO %I', current_user);
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot grant smartqueue_app to %: use a separate app login', current_user;
END
$$;

-- ---- platform -----------------------------------------------------------------------------

CREATE TABLE tenants (
    id             uuid PRIMARY KEY,
    slug           text NOT NULL,
    name           text NOT NULL,
    default_locale text NOT NULL,
    created_at     timestamptz NOT NULL,
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);

-- ---- catalogue ----------------------------------------------------------------------------
-- Child tables reference their parents by (tenant_id, id), so even a bug that names a row
-- of another tenant cannot link across tenants: the database refuses the pair.

CREATE TABLE sites (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    name       text NOT NULL,
    timezone   text NOT NULL,
    locale     text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE services (
    id                     uuid PRIMARY KEY,
    tenant_id              uuid NOT NULL,
    site_id                uuid NOT NULL,
    name                   text NOT NULL,
    sla_target_secs        bigint NOT NULL CHECK (sla_target_secs >= 0),
    expected_duration_secs bigint NOT NULL CHECK (expected_duration_secs >= 0),
    ewma_service_secs      double precision NOT NULL,
    created_at             timestamptz NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
);

CREATE TABLE queues (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    site_id      uuid NOT NULL,
    service_id   uuid NOT NULL,
    name         text NOT NULL,
    prefix       text NOT NULL,
    policy       jsonb NOT NULL,
    -- The ratio scheduler's credits, updated in the same transaction as each call.
    policy_state jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL CHECK (status IN ('open', 'paused', 'closed')),
    created_at   timestamptz NOT NULL,
    CONSTRAINT queues_service_id_key UNIQUE (service_id),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id)
);
CREATE INDEX queues_site ON queues (site_id);

CREATE TABLE counters (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    site_id    uuid NOT NULL,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    -- NULL only for super admins (platform staff belong to no tenant).
    tenant_id     uuid REFERENCES tenants (id),
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL,
    site_id       uuid,
    created_at    timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    UNIQUE (tenant_id, id),
    CHECK (tenant_id IS NOT NULL OR role = 'super_admin'),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
);

CREATE TABLE agents (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    site_id    uuid NOT NULL,
    user_id    uuid,
    name       text NOT NULL,
    status     text NOT NULL CHECK (status IN ('available', 'serving', 'paused', 'offline')),
    created_at timestamptz NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX agents_user ON agents (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE agent_skills (
    tenant_id  uuid NOT NULL,
    agent_id   uuid NOT NULL,
    service_id uuid NOT NULL,
    weight     smallint NOT NULL CHECK (weight BETWEEN 0 AND 255),
    -- Keeps the skills in the order they were given.
    position   integer NOT NULL,
    PRIMARY KEY (agent_id, service_id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id)
);
CREATE INDEX agent_skills_service ON agent_skills (service_id);

-- ---- contacts -----------------------------------------------------------------------------

CREATE TABLE contacts (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    phone      text,
    name       text,
    locale     text,
    created_at timestamptz NOT NULL,
    CONSTRAINT contacts_tenant_phone_key UNIQUE (tenant_id, phone),
    UNIQUE (tenant_id, id)
);

CREATE TABLE contact_consents (
    tenant_id  uuid NOT NULL,
    contact_id uuid NOT NULL,
    channel    text NOT NULL,
    granted    boolean NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (contact_id, channel),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
);

-- ---- tickets ------------------------------------------------------------------------------

CREATE TABLE tickets (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    site_id          uuid NOT NULL,
    queue_id         uuid NOT NULL,
    service_id       uuid NOT NULL,
    number           text NOT NULL,
    local_date       date NOT NULL,
    seq              bigint NOT NULL,
    status           text NOT NULL CHECK (status IN ('waiting', 'called', 'recalled', 'serving',
                         'paused', 'served', 'no_show', 'transferred', 'cancelled')),
    priority         smallint NOT NULL CHECK (priority BETWEEN 0 AND 255),
    channel          text NOT NULL,
    contact_id       uuid,
    arrived_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    called_at        timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    counter_id       uuid,
    agent_id         uuid,
    recalls          bigint NOT NULL DEFAULT 0,
    paused_secs      bigint NOT NULL DEFAULT 0,
    paused_at        timestamptz,
    transferred_from uuid REFERENCES tickets (id),
    transferred_to   uuid REFERENCES tickets (id),
    CONSTRAINT tickets_number_key UNIQUE (queue_id, local_date, seq),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id),
    FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, counter_id) REFERENCES counters (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);
-- Class heads for call-next and FIFO lists: only waiting tickets, in calling order.
CREATE INDEX tickets_waiting ON tickets (queue_id, priority, arrived_at, seq)
    WHERE status = 'waiting';
CREATE INDEX tickets_at_counter ON tickets (queue_id)
    WHERE status IN ('called', 'recalled', 'serving', 'paused');
CREATE INDEX tickets_newest ON tickets (tenant_id, created_at DESC, id DESC);

-- `position` is the feed position. Writers insert events only once they hold their
-- tenant's audit_heads row lock (kept to commit), so per tenant positions are drawn in
-- commit order and a reader of `position > after` never misses a late commit.
CREATE TABLE ticket_events (
    position    bigserial PRIMARY KEY,
    id          uuid NOT NULL UNIQUE,
    tenant_id   uuid NOT NULL,
    ticket_id   uuid NOT NULL,
    kind        text NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    actor       text NOT NULL,
    at          timestamptz NOT NULL,
    data        jsonb NOT NULL,
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id)
);
CREATE INDEX ticket_events_feed ON ticket_events (tenant_id, position);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, position);

-- Ticket numbers per queue and site-local day. The upsert's row lock is held to commit, so
-- concurrent issues serialise here: no gaps (a rolled-back issue rolls the counter back too)
-- and no repeats.
CREATE TABLE queue_day_counters (
    tenant_id  uuid NOT NULL,
    queue_id   uuid NOT NULL,
    local_date date NOT NULL,
    last_seq   bigint NOT NULL,
    PRIMARY KEY (queue_id, local_date),
    FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id)
);

-- ---- credentials --------------------------------------------------------------------------

-- Not tenant-owned (keyed by user): the app role has no privilege on it at all and goes
-- through sq_store_refresh_token / sq_rotate_refresh_token.
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    family     uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    name       text NOT NULL,
    prefix     text NOT NULL,
    key_hash   text NOT NULL,
    scopes     text[] NOT NULL,
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

-- ---- audit --------------------------------------------------------------------------------

-- Append-only for the app (no UPDATE/DELETE grant). `before`/`after` are jsonb: the hash is
-- over serde_json's compact, key-sorted form, which re-serialising the stored value
-- reproduces whatever order jsonb keeps the keys in.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    seq         bigint NOT NULL,
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    before      jsonb,
    after       jsonb,
    actor       text NOT NULL,
    ip          text,
    user_agent  text,
    at          timestamptz NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    CONSTRAINT audit_log_tenant_seq_key UNIQUE (tenant_id, seq)
);

-- The head of each tenant's chain, row-locked by every audited write: appends of one
-- tenant are serialised, so seq has no gaps and every row links to its predecessor.
CREATE TABLE audit_heads (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    last_seq  bigint NOT NULL,
    last_hash text NOT NULL
);

-- ---- row-level security -------------------------------------------------------------------
-- NULLIF: once a transaction that ran set_config('app.tenant_id', …, true) has ended, the
-- setting reads as '' (not NULL) for the rest of the session, and ''::uuid would raise.
-- FORCE makes the policies bind the table owner too (superusers are exempt regardless).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sites', 'services', 'queues', 'counters', 'users', 'agents',
                             'agent_skills', 'contacts', 'contact_consents', 'tickets',
                             'ticket_events', 'queue_day_counters', 'api_keys', 'audit_log',
                             'audit_heads']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I'
            ' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
            ' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)',
            t);
    END LOOP;
END
$$;

-- The SECURITY DEFINER functions below run as the owner, whom FORCE subjects to the
-- policies. These owner-only policies give them exactly the cross-tenant access they need:
-- reading users and API keys, and inserting platform users (tenant_id NULL).
DO $$
BEGIN
    EXECUTE format('CREATE POLICY definer_lookup ON users FOR SELECT TO %I USING (true)',
                   current_user);
    EXECUTE format('CREATE POLICY definer_platform_user ON users FOR INSERT TO %I'
                   ' WITH CHECK (tenant_id IS NULL)', current_user);
    EXECUTE format('CREATE POLICY definer_lookup ON api_keys FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;

-- ---- cross-tenant lookups (SECURITY DEFINER) ----------------------------------------------
-- Owned by the migration owner; fixed search_path (pg_catalog, then pg_temp last) and
-- schema-qualified names, so a caller cannot substitute objects; each returns only the
-- columns its caller needs.

CREATE FUNCTION sq_user_by_email(p_email text)
RETURNS TABLE (id uuid, tenant_id uuid, email text, password_hash text, role text,
               site_id uuid, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.tenant_id, u.email, u.password_hash, u.role, u.site_id, u.created_at
    FROM public.users u WHERE u.email = p_email
$$;

-- No password hash: this is for loading the principal of an already verified token.
CREATE FUNCTION sq_user_by_id(p_id uuid)
RETURNS TABLE (id uuid, tenant_id uuid, email text, role text, site_id uuid,
               created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.tenant_id, u.email, u.role, u.site_id, u.created_at
    FROM public.users u WHERE u.id = p_id
$$;

-- Super admins belong to no tenant, so no app.tenant_id can admit their row.
CREATE FUNCTION sq_create_platform_user(p_id uuid, p_email text, p_password_hash text,
                                        p_created_at timestamptz)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.users (id, tenant_id, email, password_hash, role, site_id, created_at)
    VALUES (p_id, NULL, p_email, p_password_hash, 'super_admin', NULL, p_created_at)
$$;

-- Revoked keys are not returned; never the hash.
CREATE FUNCTION sq_api_key_by_hash(p_key_hash text)
RETURNS TABLE (id uuid, tenant_id uuid, name text, prefix text, scopes text[],
               created_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.id, k.tenant_id, k.name, k.prefix, k.scopes, k.created_at, k.revoked_at
    FROM public.api_keys k WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
$$;

CREATE FUNCTION sq_store_refresh_token(p_token_hash text, p_user_id uuid, p_family uuid,
                                       p_expires_at timestamptz)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.refresh_tokens (token_hash, user_id, family, expires_at)
    VALUES (p_token_hash, p_user_id, p_family, p_expires_at)
$$;

-- One statement, one transaction. The FOR UPDATE makes a concurrent second rotation of the
-- same token wait, then re-read the row, find it used, and revoke the family: exactly one
-- caller gets 'rotated'.
CREATE FUNCTION sq_rotate_refresh_token(p_old_hash text, p_new_hash text,
                                        p_new_expires_at timestamptz, p_now timestamptz)
RETURNS TABLE (r_outcome text, r_user_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t public.refresh_tokens%ROWTYPE;
BEGIN
    SELECT * INTO t FROM public.refresh_tokens WHERE token_hash = p_old_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::uuid;
        RETURN;
    END IF;
    IF t.used_at IS NOT NULL OR t.revoked_at IS NOT NULL THEN
        UPDATE public.refresh_tokens SET revoked_at = p_now
        WHERE family = t.family AND revoked_at IS NULL;
        RETURN QUERY SELECT 'reused'::text, t.user_id;
        RETURN;
    END IF;
    IF t.expires_at <= p_now THEN
        RETURN QUERY SELECT 'expired'::text, t.user_id;
        RETURN;
    END IF;
    UPDATE public.refresh_tokens SET used_at = p_now WHERE token_hash = p_old_hash;
    INSERT INTO public.refresh_tokens (token_hash, user_id, family, expires_at, created_at)
    VALUES (p_new_hash, t.user_id, t.family, p_new_expires_at, p_now);
    RETURN QUERY SELECT 'rotated'::text, t.user_id;
END
$$;

-- ---- privileges ---------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON FUNCTION sq_user_by_email(text), sq_user_by_id(uuid),
    sq_create_platform_user(uuid, text, text, timestamptz), sq_api_key_by_hash(text),
    sq_store_refresh_token(text, uuid, uuid, timestamptz),
    sq_rotate_refresh_token(text, text, timestamptz, timestamptz) FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO smartqueue_app;
-- Slugs are public and tenants are created by the platform: read and insert, nothing else.
GRANT SELECT, INSERT ON tenants TO smartqueue_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sites, services, queues, counters, users, agents,
    agent_skills, contacts, contact_consents, tickets, queue_day_counters, api_keys,
    audit_heads TO smartqueue_app;
-- History is append-only.
GRANT SELECT, INSERT ON ticket_events, audit_log TO smartqueue_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO smartqueue_app;
GRANT EXECUTE ON FUNCTION sq_user_by_email(text), sq_user_by_id(uuid),
    sq_create_platform_user(uuid, text, text, timestamptz), sq_api_key_by_hash(text),
    sq_store_refresh_token(text, uuid, uuid, timestamptz),
    sq_rotate_refresh_token(text, text, timestamptz, timestamptz) TO smartqueue_app;
