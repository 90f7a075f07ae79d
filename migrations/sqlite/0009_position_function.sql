-- PostgreSQL's 0009 adds `sq_position_inputs`, a function that reads a ticket's position
-- inputs in one round trip. SQLite is in-process and needs no such thing: the file keeps
-- the version numbers of both folders equal.
SELECT 1;
