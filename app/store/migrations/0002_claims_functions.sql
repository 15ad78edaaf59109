-- Client-retry claims in one place: claims_take locks the keys and reads the live claims,
-- claims_save records first answers. The sync create path and inbound_accept both use them,
-- and inbound_accept stores the answers it is given instead of building them.

CREATE OR REPLACE FUNCTION claims_take(claim_keys text[], claim_hours integer)
RETURNS TABLE (key text, body_hash text, status integer, response jsonb, held boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    busy text[];
BEGIN
    -- Each later statement of a function takes a fresh snapshot, so the claims read after the
    -- locks include any committed by the request that held a key just before.
    SELECT COALESCE(array_agg(k), '{}') INTO busy FROM unnest(claim_keys) AS k
     WHERE NOT pg_try_advisory_xact_lock(hashtextextended(k, 0));
    RETURN QUERY
    SELECT c.key::text, c.body_hash, c.status, c.response, false FROM idempotency_claim c
     WHERE c.key = ANY(claim_keys::uuid[]) AND NOT c.key::text = ANY(busy)
       -- on created_at's side, this would have the planner scan the day's claims
       AND c.created_at + make_interval(hours => claim_hours) > now()
    UNION ALL
    SELECT k, NULL, NULL, NULL, true FROM unnest(busy) AS k;
END
$$;

CREATE OR REPLACE FUNCTION claims_save(
    claim_keys text[], body_hashes text[], statuses integer[], responses jsonb[]
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO idempotency_claim (key, body_hash, status, response)
    SELECT * FROM unnest(claim_keys::uuid[], body_hashes, statuses, responses)
    ON CONFLICT (key) DO UPDATE
       SET body_hash = EXCLUDED.body_hash, status = EXCLUDED.status,
           response = EXCLUDED.response, created_at = now()
$$;

DROP FUNCTION IF EXISTS inbound_accept(jsonb, text[], text[], text[], text[], text[], integer);
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
                   id text, created_by text, request_id text, refs text[], keys text[]
               )) WITH ORDINALITY AS e(id, created_by, request_id, refs, keys, n)
         WHERE NOT e.keys && taken_keys
    ), queued AS (
        INSERT INTO inbound_queue (id, payload, created_by, request_id, inventory_keys)
        SELECT e.id, payloads[e.n]::jsonb, e.created_by, e.request_id,
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
