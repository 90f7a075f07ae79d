-- Messaging: configured channels, the inbound inbox (dedupe + crash recovery),
-- conversations (engine sessions per channel address), the outbox, ticket origins and the
-- notifier's cursor. See crates/sq-store/src/messaging.rs for the inbox/outbox protocol.

CREATE TABLE channels (
    id         TEXT PRIMARY KEY,            -- unguessable: the webhook path /hooks/{id}
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    provider   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    site_id    TEXT,
    config_enc BLOB NOT NULL,               -- adapter configuration, encrypted by the app
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
) STRICT;

CREATE TABLE conversations (
    tenant_id       TEXT NOT NULL,
    channel_id      TEXT NOT NULL,
    address         TEXT NOT NULL,
    contact_id      TEXT NOT NULL,
    session         TEXT,                   -- sq_flow::Session as JSON
    locale          TEXT,
    opted_out       INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0, 1)),
    last_inbound_at TEXT,
    due_at          TEXT,                 -- the session's next timer (step timeout or expiry)
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (channel_id, address),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
) STRICT;

CREATE INDEX conversations_due ON conversations (tenant_id, due_at) WHERE due_at IS NOT NULL;

CREATE TABLE inbound_messages (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id           TEXT NOT NULL,
    channel_id          TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    address             TEXT NOT NULL,
    contact_id          TEXT NOT NULL,
    payload             TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    received_at         TEXT NOT NULL,
    processed_at        TEXT,
    UNIQUE (channel_id, provider_message_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
) STRICT;
CREATE INDEX inbound_pending ON inbound_messages (tenant_id, seq) WHERE status = 'pending';

CREATE TABLE outbound_messages (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    channel_id          TEXT NOT NULL,
    address             TEXT NOT NULL,
    contact_id          TEXT,
    class               TEXT NOT NULL CHECK (class IN ('reply', 'notification')),
    body                TEXT NOT NULL,
    idempotency_key     TEXT NOT NULL,
    status              TEXT NOT NULL,
    status_rank         INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    provider_message_id TEXT,
    last_error          TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (tenant_id, idempotency_key),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
) STRICT;
-- Replies sort before notifications ('r' > 'n', hence DESC), then by due time.
CREATE INDEX outbound_due ON outbound_messages (tenant_id, class DESC, next_attempt_at)
    WHERE status = 'queued';
CREATE INDEX outbound_provider_id ON outbound_messages (channel_id, provider_message_id);

CREATE TABLE ticket_origins (
    ticket_id  TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    contact_id TEXT,
    locale     TEXT,
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
) STRICT;

CREATE TABLE notify_cursors (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    position  INTEGER NOT NULL
) STRICT;
