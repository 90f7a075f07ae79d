-- Waiting tickets per (queue, priority class), kept by a trigger in the same transaction
-- as the ticket change, as SQLite's `queue_waiting` is. A ticket's position and a queue's
-- classes are then read without counting the line: call-next finds each class head with
-- one index probe per class, and a new ticket's position counts only the few tickets
-- behind it. The counter rows are hot, but every write of a tenant runs on its write lane
-- (one transaction at a time per tenant), so they add no lock contention.
CREATE TABLE queue_waiting (
    tenant_id uuid NOT NULL,
    queue_id  uuid NOT NULL,
    priority  smallint NOT NULL,
    n         integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (queue_id, priority),
    FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id)
);

ALTER TABLE queue_waiting ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_waiting FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queue_waiting
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON queue_waiting TO smartqueue_app;

-- SECURITY INVOKER (the default): the counter rows are written under the same tenant
-- setting, and so the same policy, as the ticket that changed.
CREATE FUNCTION count_waiting_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'waiting' THEN
        UPDATE queue_waiting SET n = n - 1
        WHERE queue_id = OLD.queue_id AND priority = OLD.priority;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'waiting' THEN
        INSERT INTO queue_waiting (tenant_id, queue_id, priority, n)
        VALUES (NEW.tenant_id, NEW.queue_id, NEW.priority, 1)
        ON CONFLICT (queue_id, priority) DO UPDATE SET n = queue_waiting.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_count_waiting
    AFTER INSERT OR DELETE OR UPDATE OF status, queue_id, priority ON tickets
    FOR EACH ROW EXECUTE FUNCTION count_waiting_tickets();

INSERT INTO queue_waiting (tenant_id, queue_id, priority, n)
SELECT tenant_id, queue_id, priority, count(*) FROM tickets WHERE status = 'waiting'
GROUP BY tenant_id, queue_id, priority;
