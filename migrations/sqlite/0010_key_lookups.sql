-- PostgreSQL's 0010 reshapes two indexes so that foreign-key checks, which run on plans
-- each connection keeps, cannot pick a scan of a tenant's rows. SQLite plans each check
-- afresh: the file keeps the version numbers of both folders equal.
SELECT 1;
