-- Foreign-key checks run on plans that each connection keeps until the table's statistics
-- change, and the write lanes' connections live long. Planned while `tickets` was new and
-- not yet analysed, the check of an event's `(tenant_id, ticket_id)` could not tell the
-- key's index from `tickets_newest`, which also starts with `tenant_id`, and took the
-- latter: every event written then scanned all of its tenant's tickets, so writes slowed
-- down with every ticket of the day (at 45,000 tickets a call cost a millisecond more).
-- Contacts had the same trap in their `(tenant_id, phone)` key.
--
-- So no index but the key starts with `tenant_id` where a key lookup could take it:
-- `tickets_newest` becomes partial on a condition only the listing states (always true,
-- but not provable from a key lookup), and the phone key starts with the phone (still
-- the arbiter of `ON CONFLICT (tenant_id, phone)`, which matches columns in any order).
DROP INDEX tickets_newest;
CREATE INDEX tickets_newest ON tickets (tenant_id, created_at DESC, id DESC)
    WHERE created_at > '-infinity';

ALTER TABLE contacts DROP CONSTRAINT contacts_tenant_phone_key;
ALTER TABLE contacts ADD CONSTRAINT contacts_tenant_phone_key UNIQUE (phone, tenant_id);
