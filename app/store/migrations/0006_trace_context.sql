-- Following one order through the logs (docs/tracing.md): the W3C trace context it came with
-- is kept beside the request id, on its queue entry and on the order, so that the worker, the
-- outbound calls to SOM/TOM and their callbacks carry the same trace id.
-- Every statement may run again on a database that has them (no schema_migration record).
ALTER TABLE inbound_queue ADD COLUMN IF NOT EXISTS traceparent text;
ALTER TABLE inbound_processed ADD COLUMN IF NOT EXISTS traceparent text;
ALTER TABLE service_order ADD COLUMN IF NOT EXISTS traceparent text;

-- Accepting a batch of async entries in one round trip, as one transaction. Entries none of
-- whose keys is held or already claimed are stored, in arrival order, with their claims and
-- the answers given for them. Returns what claims_take found.
-- Payloads come as an array of their own, entry n's at n: within `entries` each would be parsed
-- with the whole document and then again out of it.
CREATE OR REPLACE FUNCTION inbound_accept(
    entries jsonb, payloads text[], batch_keys text[], claim_keys text[], claim_hashes text[],
    claim_ids text[], claim_statuses integer[], claim_responses jsonb[], claim_hours integer
) RETURNS TABLE (key text, body_hash text, status integer, response jsonb, held boolean)
-- Planned once: a custom plan for every batch costs more than the batch's inserts.
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    taken_keys text[];
    taken_hashes text[];
    taken_statuses integer[];
    taken_responses jsonb[];
    taken_held boolean[];
    stored text[];
BEGIN
    SELECT COALESCE(array_agg(t.key), '{}'), array_agg(t.body_hash), array_agg(t.status),
           array_agg(t.response), array_agg(t.held)
      INTO taken_keys, taken_hashes, taken_statuses, taken_responses, taken_held
      FROM claims_take(batch_keys, claim_hours) AS t;
    WITH fresh AS (
        SELECT e.* FROM ROWS FROM (jsonb_to_recordset(entries) AS (
                   id text, created_by text, request_id text, traceparent text, refs text[],
                   keys text[]
               )) WITH ORDINALITY AS e(id, created_by, request_id, traceparent, refs, keys, n)
         WHERE NOT e.keys && taken_keys
    ), queued AS (
        INSERT INTO inbound_queue (id, payload, created_by, request_id, traceparent,
                                   inventory_keys)
        SELECT e.id, payloads[e.n]::jsonb, e.created_by, e.request_id, e.traceparent,
               CASE WHEN e.refs = '{}' THEN e.refs  -- most entries: no lookup at all
                    ELSE e.refs || COALESCE((SELECT array_agg(p.sys_id) FROM product_inventory p
                                              WHERE p.sys_id = ANY(e.refs)
                                                 OR p.external_id = ANY(e.refs)), '{}') END
          FROM fresh e ORDER BY e.n
        RETURNING id
    )
    SELECT COALESCE(array_agg(id), '{}') INTO stored FROM queued;
    IF claim_keys <> '{}' THEN
        PERFORM claims_save(array_agg(c.key), array_agg(c.body_hash), array_agg(c.status),
                            array_agg(c.response))
           FROM unnest(claim_keys, claim_hashes, claim_ids, claim_statuses, claim_responses)
                AS c(key, body_hash, id, status, response)
          WHERE c.id = ANY(stored)
         HAVING count(*) > 0;
    END IF;
    RETURN QUERY
    SELECT * FROM unnest(taken_keys, taken_hashes, taken_statuses, taken_responses, taken_held);
END
$$;
