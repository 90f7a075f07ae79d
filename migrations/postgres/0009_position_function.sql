-- A waiting ticket's position inputs in one round trip.
--
-- Every issued ticket's answer, every tracker refresh and every position notification asks
-- for them. As separate statements in a read-only transaction they cost eight round trips
-- (BEGIN, the queue, the service, the class counts, the tickets behind, the agents serving,
-- COMMIT); on a busy server those round trips, not the work in them, were most of the
-- database's CPU. This function does the same reads on one snapshot (STABLE: every query
-- in it sees the snapshot of the calling statement) in one call made outside any explicit
-- transaction.
--
-- Row-level security still applies: the function runs as its caller (SECURITY INVOKER)
-- and first sets `app.tenant_id` transaction-locally, exactly as the store does before
-- every tenant-scoped transaction; the call is its own transaction, so the setting ends
-- with it and cannot leak to the next user of the pooled connection.
--
-- Per waiting class of the queue (ascending priority): the class, its waiting count, and
-- the waiting tickets behind the given one (at or after its (arrived_at, seq), other than
-- itself), counted up to `p_probe`: a count that reaches `p_probe` means "at least", and
-- the caller then counts the side ahead instead.
CREATE FUNCTION sq_position_inputs(p_tenant uuid, p_queue uuid, p_ticket uuid,
                                   p_arrived timestamptz, p_seq bigint, p_probe bigint)
RETURNS TABLE (policy jsonb, policy_state jsonb, ewma_service_secs double precision,
               agents_serving bigint, priorities smallint[], totals integer[], behind bigint[])
LANGUAGE plpgsql STABLE
SET search_path = public
AS $$
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    RETURN QUERY
    SELECT q.policy, q.policy_state, s.ewma_service_secs,
           (SELECT count(*) FROM agents a JOIN agent_skills k ON k.agent_id = a.id
             WHERE k.service_id = q.service_id AND k.weight > 0 AND a.status <> 'offline'),
           coalesce(c.priorities, '{}'), coalesce(c.totals, '{}'), coalesce(c.behind, '{}')
    FROM queues q
    JOIN services s ON s.id = q.service_id
    CROSS JOIN LATERAL (
        SELECT array_agg(w.priority ORDER BY w.priority) AS priorities,
               array_agg(w.n ORDER BY w.priority) AS totals,
               array_agg(b.n ORDER BY w.priority) AS behind
        FROM queue_waiting w
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM (
                SELECT 1 FROM tickets x
                WHERE x.queue_id = w.queue_id AND x.priority = w.priority
                  AND x.status = 'waiting' AND (x.arrived_at, x.seq) >= (p_arrived, p_seq)
                  AND x.id <> p_ticket
                LIMIT p_probe) probe
        ) b
        WHERE w.queue_id = q.id AND w.n > 0
    ) c
    WHERE q.id = p_queue;
END
$$;

GRANT EXECUTE ON FUNCTION sq_position_inputs(uuid, uuid, uuid, timestamptz, bigint, bigint)
    TO smartqueue_app;
