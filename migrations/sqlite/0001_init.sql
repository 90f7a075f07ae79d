-- SmartQueue schema, SQLite flavour. The PostgreSQL twin (migrations/postgres/0001_init.sql)
-- has the same tables, columns and uniqueness rules.
--
-- Conventions:
--   * ids are TEXT: lower-case hyphenated UUIDs (v7, time-ordered);
--   * instants are TEXT in UTC, fixed width `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds),
--     so text order is time order and values round-trip exactly;
--   * calendar days (local_date) are TEXT `YYYY-MM-DD`;
--   * JSON is TEXT written by serde_json (the audit hash covers that exact text);
--   * every tenant-owned table carries tenant_id and every query filters on it; children
--     reference their catalogue parents by (tenant_id, id), so no row can link across
--     tenants even if a query forgot a filter (the database refuses the pair);
--   * the tables written on every ticket action (tickets, ticket_events, audit_log, the
--     counters and heads) carry no index they do not need: each index is one more page
--     written to the WAL per commit, and the single writer's commit rate is the issue and
--     call rate. (Their children reference them by id; the store filters tenant_id.)

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    default_locale TEXT NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;

CREATE TABLE sites (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    locale     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE services (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL,
    site_id                TEXT NOT NULL,
    name                   TEXT NOT NULL,
    sla_target_secs        INTEGER NOT NULL CHECK (sla_target_secs >= 0),
    expected_duration_secs INTEGER NOT NULL CHECK (expected_duration_secs >= 0),
    ewma_service_secs      REAL NOT NULL,
    created_at             TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
) STRICT;
CREATE INDEX services_tenant ON services (tenant_id, created_at);

-- One queue per service: issue_ticket finds the queue from the service.
CREATE TABLE queues (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    site_id      TEXT NOT NULL,
    service_id   TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    policy       TEXT NOT NULL,               -- sq_domain::policy::QueuePolicy as JSON
    policy_state TEXT NOT NULL DEFAULT '{}',  -- sq_domain::policy::PolicyState as JSON
    status       TEXT NOT NULL CHECK (status IN ('open', 'paused', 'closed')),
    created_at   TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id)
) STRICT;
CREATE INDEX queues_site ON queues (tenant_id, site_id);

CREATE TABLE counters (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    site_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
) STRICT;
CREATE INDEX counters_tenant ON counters (tenant_id, created_at);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (id),   -- NULL only for super admins
    email         TEXT NOT NULL UNIQUE,           -- unique platform-wide
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    site_id       TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    CHECK (tenant_id IS NOT NULL OR role = 'super_admin'),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id)
) STRICT;

CREATE TABLE agents (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    site_id    TEXT NOT NULL,
    user_id    TEXT,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('available', 'serving', 'paused', 'offline')),
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
CREATE INDEX agents_tenant ON agents (tenant_id, created_at);
CREATE INDEX agents_user ON agents (user_id) WHERE user_id IS NOT NULL;

-- `position` keeps the order the skills were given in (Agent::skills round-trips).
CREATE TABLE agent_skills (
    tenant_id  TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    service_id TEXT NOT NULL,
    weight     INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 255),
    position   INTEGER NOT NULL,
    PRIMARY KEY (agent_id, service_id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id)
) STRICT;
CREATE INDEX agent_skills_service ON agent_skills (service_id, agent_id);

CREATE TABLE contacts (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    phone      TEXT,                           -- E.164; NULL for anonymous walk-ins
    name       TEXT,
    locale     TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, phone),
    UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE contact_consents (
    tenant_id  TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    channel    TEXT NOT NULL,
    granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
    at         TEXT NOT NULL,
    PRIMARY KEY (contact_id, channel),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
) STRICT;

CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    site_id          TEXT NOT NULL,
    queue_id         TEXT NOT NULL,
    service_id       TEXT NOT NULL,
    number           TEXT NOT NULL,
    local_date       TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('waiting', 'called', 'recalled', 'serving',
                         'paused', 'served', 'no_show', 'transferred', 'cancelled')),
    priority         INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 255),
    channel          TEXT NOT NULL,
    contact_id       TEXT,
    arrived_at       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    called_at        TEXT,
    started_at       TEXT,
    finished_at      TEXT,
    counter_id       TEXT,
    agent_id         TEXT,
    recalls          INTEGER NOT NULL DEFAULT 0,
    paused_secs      INTEGER NOT NULL DEFAULT 0,
    paused_at        TEXT,
    transferred_from TEXT REFERENCES tickets (id),
    transferred_to   TEXT REFERENCES tickets (id),
    -- A number is issued once per queue and local day.
    UNIQUE (queue_id, local_date, seq),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, id),
    FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, counter_id) REFERENCES counters (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
) STRICT;
-- Call-next reads the head of each (queue, priority) class of waiting tickets: only
-- waiting tickets, in FIFO order (arrived_at, seq, id — the policy's order). Queries must
-- spell `status = 'waiting'` literally for SQLite to use it.
CREATE INDEX tickets_waiting ON tickets (queue_id, priority, arrived_at, seq, id)
    WHERE status = 'waiting';
CREATE INDEX tickets_at_counter ON tickets (queue_id)
    WHERE status IN ('called', 'recalled', 'serving', 'paused');
-- Listings, newest first.
CREATE INDEX tickets_newest ON tickets (tenant_id, created_at, id);
CREATE INDEX tickets_contact ON tickets (contact_id) WHERE contact_id IS NOT NULL;

-- Waiting tickets per (queue, priority class), kept by the triggers below: positions and
-- ETAs read these counts instead of counting index entries, which would cost time in
-- proportion to the queue's length on every ticket shown. (SQLite only: a derived table,
-- not part of the shape shared with PostgreSQL. Call-next never relies on it.)
CREATE TABLE queue_waiting (
    queue_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (queue_id, priority)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER tickets_waiting_insert AFTER INSERT ON tickets
WHEN NEW.status = 'waiting'
BEGIN
    INSERT INTO queue_waiting (queue_id, priority, n) VALUES (NEW.queue_id, NEW.priority, 1)
    ON CONFLICT (queue_id, priority) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tickets_waiting_update AFTER UPDATE OF status, queue_id, priority ON tickets
WHEN OLD.status = 'waiting' OR NEW.status = 'waiting'
BEGIN
    UPDATE queue_waiting SET n = n - 1
    WHERE OLD.status = 'waiting' AND queue_id = OLD.queue_id AND priority = OLD.priority;
    INSERT INTO queue_waiting (queue_id, priority, n)
    SELECT NEW.queue_id, NEW.priority, 1 WHERE NEW.status = 'waiting'
    ON CONFLICT (queue_id, priority) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tickets_waiting_delete AFTER DELETE ON tickets
WHEN OLD.status = 'waiting'
BEGIN
    UPDATE queue_waiting SET n = n - 1
    WHERE queue_id = OLD.queue_id AND priority = OLD.priority;
END;

-- `position` is the feed position: it grows in commit order (one writer at a time).
CREATE TABLE ticket_events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    ticket_id   TEXT NOT NULL REFERENCES tickets (id),
    kind        TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    data        TEXT NOT NULL
) STRICT;
CREATE INDEX ticket_events_tenant ON ticket_events (tenant_id, position);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, position);

-- Ticket numbering: the last sequence number issued per queue and site-local day.
CREATE TABLE queue_day_counters (
    tenant_id  TEXT NOT NULL,
    queue_id   TEXT NOT NULL,
    local_date TEXT NOT NULL,
    last_seq   INTEGER NOT NULL,
    PRIMARY KEY (queue_id, local_date),
    FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id)
) STRICT, WITHOUT ROWID;

-- Only the SHA-256 of a refresh token is stored.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    family     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

-- Only the hash of an API key is stored.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,                  -- JSON array of scope strings
    created_by TEXT REFERENCES users (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

-- Hash-chained per tenant (sq_domain::audit). Append-only.
CREATE TABLE audit_log (
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    seq         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    actor       TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    at          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (tenant_id, seq)
) STRICT;

-- The end of each tenant's chain, so appending needs no scan.
CREATE TABLE audit_heads (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    last_seq  INTEGER NOT NULL,
    last_hash TEXT NOT NULL
) STRICT, WITHOUT ROWID;
