-- PostgreSQL's 0004 adds the trigger-kept `queue_waiting` counts that SQLite has had since
-- 0001. Nothing to do here: the file keeps the version numbers of both folders equal.
SELECT 1;
