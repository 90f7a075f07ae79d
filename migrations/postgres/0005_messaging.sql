-- Messaging: configured channels, the inbound inbox (dedupe + crash recovery),
-- conversations (engine sessions per channel address), the outbox, ticket origins and the
-- notifier's cursor. Same tables as migrations/sqlite/0005_messaging.sql; every one is
-- tenant-owned and under row-level security like the tables of 0001. See
-- crates/sq-store/src/messaging.rs for the inbox/outbox protocol.

CREATE TABLE channels (
    id         text PRIMARY KEY,            -- unguessable: the webhook path /hooks/{id}
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    provider   text NOT NULL,
    kind       text NOT NULL,
    name       text NOT NULL,
    site_id    uuid,
    config_enc bytea NOT NULL,              -- adapter configuration, encrypted by the app
    created_at timestamptz NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
);

CREATE TABLE conversations (
    tenant_id       uuid NOT NULL,
    channel_id      text NOT NULL,
    address         text NOT NULL,
    contact_id      uuid NOT NULL,
    session         jsonb,
    locale          text,
    opted_out       boolean NOT NULL DEFAULT false,
    last_inbound_at timestamptz,
    due_at          timestamptz,                 -- the session's next timer (step timeout or expiry)
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (channel_id, address),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
);

CREATE INDEX conversations_due ON conversations (tenant_id, due_at) WHERE due_at IS NOT NULL;

CREATE TABLE inbound_messages (
    seq                 bigserial PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    channel_id          text NOT NULL,
    provider_message_id text NOT NULL,
    address             text NOT NULL,
    contact_id          uuid NOT NULL,
    payload             jsonb NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'done')),
    received_at         timestamptz NOT NULL,
    processed_at        timestamptz,
    CONSTRAINT inbound_messages_dedupe_key UNIQUE (channel_id, provider_message_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
);
CREATE INDEX inbound_pending ON inbound_messages (tenant_id, seq) WHERE status = 'pending';

CREATE TABLE outbound_messages (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    channel_id          text NOT NULL,
    address             text NOT NULL,
    contact_id          uuid,
    class               text NOT NULL CHECK (class IN ('reply', 'notification')),
    body                jsonb NOT NULL,
    idempotency_key     text NOT NULL,
    status              text NOT NULL,
    status_rank         integer NOT NULL,
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL,
    provider_message_id text,
    last_error          text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT outbound_messages_idempotency_key UNIQUE (tenant_id, idempotency_key),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
);
-- Replies sort before notifications ('r' > 'n', hence DESC), then by due time.
CREATE INDEX outbound_due ON outbound_messages (tenant_id, class DESC, next_attempt_at)
    WHERE status = 'queued';
CREATE INDEX outbound_provider_id ON outbound_messages (channel_id, provider_message_id);

CREATE TABLE ticket_origins (
    ticket_id  uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    channel_id text NOT NULL,
    address    text NOT NULL,
    contact_id uuid,
    locale     text,
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
);

CREATE TABLE notify_cursors (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    position  bigint NOT NULL
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channels', 'conversations', 'inbound_messages',
                             'outbound_messages', 'ticket_origins', 'notify_cursors']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I'
            ' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
            ' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)',
            t);
    END LOOP;
    -- The definer below reads channels across tenants (a webhook names only its channel).
    EXECUTE format('CREATE POLICY definer_lookup ON channels FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;

-- A webhook names only its channel id; this finds the channel (and so the tenant) before
-- any tenant is set. Returns the encrypted configuration, which only the app can open.
CREATE FUNCTION sq_channel_by_id(p_id text)
RETURNS TABLE (id text, tenant_id uuid, provider text, kind text, name text, site_id uuid,
               config_enc bytea, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.id, c.tenant_id, c.provider, c.kind, c.name, c.site_id, c.config_enc, c.created_at
    FROM public.channels c WHERE c.id = p_id
$$;
REVOKE ALL ON FUNCTION sq_channel_by_id(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sq_channel_by_id(text) TO smartqueue_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON channels, conversations, inbound_messages,
    outbound_messages, ticket_origins, notify_cursors TO smartqueue_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO smartqueue_app;
