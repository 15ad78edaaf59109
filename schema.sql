-- OrderHub's schema as it stands, for reading. It is not applied: the numbered migrations under
-- app/store/migrations/ build it (`orderhub db migrate`, docs/migrations.md), and a test checks
-- that they give exactly this.

CREATE TABLE schema_migration (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_user (
    name          text PRIMARY KEY,
    password_hash text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Reference data ("catalogue"), loaded by `orderhub catalog load FILE`. Every record is found by
-- sys_id or by external_id.

CREATE TABLE customer_account (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX customer_account_external_id ON customer_account (external_id);

CREATE TABLE customer_contact (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL,
    first_name  text NOT NULL DEFAULT '',
    last_name   text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    account     text REFERENCES customer_account (sys_id)
);
CREATE INDEX customer_contact_external_id ON customer_contact (external_id);

CREATE TABLE consumer (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX consumer_external_id ON consumer (external_id);

CREATE TABLE location (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX location_external_id ON location (external_id);

-- One row per version; versions of one specification share initial_version and external_id.
CREATE TABLE service_specification (
    sys_id           text PRIMARY KEY,
    initial_version  text NOT NULL,
    external_id      text,
    name             text NOT NULL,
    internal_version integer NOT NULL,
    version          text NOT NULL DEFAULT '',
    status           text NOT NULL CHECK (status IN ('published', 'draft', 'retired')),
    service_type     text NOT NULL CHECK (service_type IN ('cfs', 'rfs')),
    ponr_state       text NOT NULL DEFAULT 'fulfilled' CHECK (ponr_state IN ('pending', 'fulfilled')),
    characteristics  jsonb NOT NULL DEFAULT '[]',
    UNIQUE (initial_version, internal_version)
);
CREATE INDEX service_specification_external_id ON service_specification (external_id);

CREATE TABLE service_offering (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX service_offering_external_id ON service_offering (external_id);

CREATE TABLE product_inventory (
    sys_id          text PRIMARY KEY,
    external_id     text,
    specification   text NOT NULL REFERENCES service_specification (sys_id),
    location        text REFERENCES location (sys_id),
    account         text REFERENCES customer_account (sys_id),
    state           text NOT NULL CHECK (state IN ('active', 'inactive', 'suspended')),
    characteristics jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_inventory_external_id ON product_inventory (external_id);

-- Service Order Outbound Policy: which system fulfils a specification, hierarchically or not.
CREATE TABLE outbound_policy (
    specification text NOT NULL REFERENCES service_specification (sys_id),
    action        text NOT NULL DEFAULT '',
    hierarchical  boolean NOT NULL,
    target        text NOT NULL CHECK (target IN ('SOM', 'TOM')),
    PRIMARY KEY (specification, action)
);

-- Orders. One transaction writes an order with all its rows.

CREATE TABLE service_order (
    sys_id                    text PRIMARY KEY,
    external_id               text,
    state                     text NOT NULL,
    version                   integer NOT NULL DEFAULT 1,
    ponr                      boolean NOT NULL DEFAULT false,
    order_date                timestamptz NOT NULL DEFAULT now(),
    requested_start_date      timestamptz,
    requested_completion_date timestamptz,
    expected_completion_date  timestamptz,
    committed_due_date        timestamptz,
    completion_date           timestamptz,
    order_currency            text,
    fulfillment_type          text NOT NULL DEFAULT 'deliver',
    priority                  text,
    description               text,
    category                  text,
    account                   text,
    consumer                  text,
    contact                   text,
    order_type                text,
    type_annotation           text,
    created_by                text NOT NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    traceparent               text  -- the W3C trace context it was created in
);
CREATE INDEX service_order_listing ON service_order (order_date DESC, sys_id DESC);
CREATE INDEX service_order_state ON service_order (state, order_date DESC, sys_id DESC);
CREATE INDEX service_order_external_id ON service_order (external_id);

-- Orders per state, kept by the statements that change service_order, in their transaction:
-- a list's X-Total-Count then sums a few rows instead of counting the table. Every statement
-- appends its changes as rows of its own, so concurrent writers never wait on a counter row
-- (nor deadlock over two); order_count_compact folds the rows together again.
CREATE TABLE order_count (
    state text NOT NULL,
    n     bigint NOT NULL
);

CREATE FUNCTION order_count_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO order_count (state, n) SELECT state, count(*) FROM new_rows GROUP BY state;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO order_count (state, n) SELECT state, -count(*) FROM old_rows GROUP BY state;
    ELSE
        INSERT INTO order_count (state, n)
        SELECT state, sum(change) FROM (
            SELECT state, -1 AS change FROM old_rows
            UNION ALL
            SELECT state, 1 FROM new_rows
        ) AS changes
        GROUP BY state HAVING sum(change) <> 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_count_insert AFTER INSERT ON service_order
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_count_changed();
CREATE TRIGGER order_count_update AFTER UPDATE ON service_order
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_count_changed();
CREATE TRIGGER order_count_delete AFTER DELETE ON service_order
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_count_changed();

-- Rows deleted are those this statement sees; rows appended meanwhile stay for the next
-- call, so no change is lost or doubled. One call at a time: the others have nothing to do.
CREATE FUNCTION order_count_compact() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_try_advisory_xact_lock(hashtextextended('order_count_compact', 0)) THEN
        WITH gone AS (DELETE FROM order_count RETURNING state, n)
        INSERT INTO order_count (state, n)
        SELECT state, sum(n) FROM gone GROUP BY state HAVING sum(n) <> 0;
    END IF;
END
$$;

CREATE TABLE order_related_party (
    order_id      text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    position      integer NOT NULL,
    party_id      text NOT NULL,
    name          text,
    referred_type text NOT NULL,
    PRIMARY KEY (order_id, position)
);

CREATE TABLE order_note (
    order_id text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    position integer NOT NULL,
    note_id  text,
    text     text NOT NULL,
    author   text NOT NULL,
    date     timestamptz NOT NULL,
    PRIMARY KEY (order_id, position)
);

CREATE TABLE order_line_item (
    sys_id             text PRIMARY KEY,
    order_id           text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    external_id        text NOT NULL,
    position           integer NOT NULL,
    action             text NOT NULL,
    action_reason      text,
    quantity           integer,
    state              text NOT NULL,
    ponr               boolean NOT NULL DEFAULT false,
    version            integer NOT NULL DEFAULT 1,
    committed_due_date timestamptz,
    location           text,
    is_move            boolean NOT NULL DEFAULT false,
    specification      text REFERENCES service_specification (sys_id),
    inventory          text,
    service_offering   text,
    parent_line_item   text REFERENCES order_line_item (sys_id),
    service_type_annotation text,
    service_state      text,
    spec_type_annotation    text,
    place_type_annotation   text,
    type_annotation    text,
    UNIQUE (order_id, external_id)
);
CREATE INDEX order_line_item_order ON order_line_item (order_id, position);
CREATE INDEX order_line_item_inventory ON order_line_item (inventory);
CREATE INDEX order_line_item_parent ON order_line_item (parent_line_item)
    WHERE parent_line_item IS NOT NULL;

CREATE TABLE order_characteristic_value (
    line_item      text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    position       integer NOT NULL,
    name           text NOT NULL,
    value          text NOT NULL DEFAULT '',
    previous_value text NOT NULL DEFAULT '',
    value_type     text,
    PRIMARY KEY (line_item, position)
);

CREATE TABLE order_line_item_contact (
    sys_id        text PRIMARY KEY,
    line_item     text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    position      integer NOT NULL,
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    referred_type text NOT NULL DEFAULT 'OrderLineItemContact'
);
CREATE INDEX order_line_item_contact_item ON order_line_item_contact (line_item);

-- Requires relationships between line items (HasChild/HasParent set parent_line_item instead).
CREATE TABLE order_line_related_item (
    line_item         text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    related_line_item text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    relationship_type text NOT NULL,
    PRIMARY KEY (line_item, related_line_item, relationship_type)
);
CREATE INDEX order_line_related_item_related ON order_line_related_item (related_line_item);

CREATE TABLE order_service_relationship (
    line_item         text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    position          integer NOT NULL,
    inventory_ref     text NOT NULL,
    inventory         text NOT NULL,
    relationship_type text NOT NULL,
    PRIMARY KEY (line_item, position)
);

CREATE TABLE order_external_inventory (
    line_item    text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    external_id  text NOT NULL,
    PRIMARY KEY (line_item, external_id)
);

CREATE TABLE work_note (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    line_item  text REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    text       text NOT NULL,
    author     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX work_note_order ON work_note (order_id, created_at DESC, id DESC);
CREATE INDEX work_note_line_item ON work_note (line_item) WHERE line_item IS NOT NULL;

-- Everything below some orders in one round trip, each table as a JSON array (app/store/orders.py
-- `load`): nine queries cost nine waits for PostgreSQL, which under load was most of a GET.
-- Rows below a line item are found by the items' ids (an array, as if passed in), each from
-- its own table's index: a join through order_line_item left the plan to estimates, and a poor
-- one read them whole. Planned once: a custom plan for each read cost more than running it
-- (docs/benchmarks.md).
CREATE FUNCTION order_children(ids text[])
RETURNS TABLE (parties json, notes json, items json, characteristics json, contacts json,
               service_relationships json, external_inventory json, related_items json)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH items AS MATERIALIZED (
        SELECT i.*, s.initial_version AS spec_initial_version, s.name AS spec_name,
               s.internal_version AS spec_internal_version, s.version AS spec_version,
               s.service_type AS spec_service_type, p.external_id AS parent_external_id,
               inv.sys_id AS inventory_sys_id
          FROM order_line_item i
          LEFT JOIN service_specification s ON s.sys_id = i.specification
          LEFT JOIN order_line_item p ON p.sys_id = i.parent_line_item
          LEFT JOIN product_inventory inv ON inv.sys_id = i.inventory
         WHERE i.order_id = ANY(ids)
    )
    SELECT
      (SELECT json_agg(p ORDER BY p.order_id, p.position)
         FROM order_related_party p WHERE p.order_id = ANY(ids)) AS parties,
      (SELECT json_agg(n ORDER BY n.order_id, n.date DESC, n.position DESC)
         FROM order_note n WHERE n.order_id = ANY(ids)) AS notes,
      (SELECT json_agg(i ORDER BY i.order_id, i.position) FROM items i) AS items,
      (SELECT json_agg(c ORDER BY c.line_item, c.position)
         FROM order_characteristic_value c WHERE c.line_item = ANY(ARRAY(SELECT sys_id FROM items)))
         AS characteristics,
      (SELECT json_agg(c ORDER BY c.line_item, c.position)
         FROM order_line_item_contact c WHERE c.line_item = ANY(ARRAY(SELECT sys_id FROM items)))
         AS contacts,
      (SELECT json_agg(r ORDER BY r.line_item, r.position)
         FROM order_service_relationship r WHERE r.line_item = ANY(ARRAY(SELECT sys_id FROM items)))
         AS service_relationships,
      (SELECT json_agg(e ORDER BY e.line_item, e.external_id)
         FROM order_external_inventory e WHERE e.line_item = ANY(ARRAY(SELECT sys_id FROM items)))
         AS external_inventory,
      (SELECT json_agg(json_build_object('line_item', r.line_item,
                                         'relationship_type', r.relationship_type,
                                         'related_external_id', t.external_id)
                       ORDER BY r.line_item, t.position)
         FROM order_line_related_item r JOIN order_line_item t ON t.sys_id = r.related_line_item
        WHERE r.line_item = ANY(ARRAY(SELECT sys_id FROM items))) AS related_items;
END
$$;

-- What each accepted PATCH changed, by whom and when.
CREATE TABLE order_revision (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    version    integer NOT NULL,
    changes    jsonb NOT NULL,
    author     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_revision_order ON order_revision (order_id, version);

-- Cancellation requests (the cancel resource of both API flavours).
CREATE TABLE order_cancellation (
    sys_id                  text PRIMARY KEY,
    order_id                text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    external_id             text,
    cancellation_reason     text,
    requested_cancellation_date timestamptz,
    state                   text NOT NULL,
    request                 jsonb NOT NULL,
    created_by              text NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_cancellation_listing ON order_cancellation (created_at DESC, sys_id DESC);
CREATE INDEX order_cancellation_order ON order_cancellation (order_id);

-- The inbound queue. The hot queue holds only entries still to be processed, so dequeueing
-- costs the same whatever the history; processed entries move to inbound_processed.
CREATE TABLE inbound_queue (
    id             text PRIMARY KEY,  -- the id the order will have
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    payload        jsonb NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by     text NOT NULL,
    request_id     text,
    inventory_keys text[] NOT NULL DEFAULT '{}',
    attempts       integer NOT NULL DEFAULT 0,
    enqueued_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    traceparent    text  -- the W3C trace context of the request that posted it
);
-- Only entries naming an inventory are ordered, so only theirs are indexed.
CREATE INDEX inbound_queue_ordered ON inbound_queue USING gin (inventory_keys)
 WHERE inventory_keys <> '{}';
CREATE INDEX inbound_queue_enqueued ON inbound_queue (enqueued_at);
-- Payloads stay compressed (toast_tuple_target at its default): uncompressed inserts are
-- cheaper, but a large backlog then outgrows shared_buffers and drains far slower
-- (docs/benchmarks.md).
ALTER TABLE inbound_queue SET (
    autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.0, autovacuum_analyze_threshold = 1000
);

CREATE TABLE inbound_processed (
    id           text PRIMARY KEY,
    state        text NOT NULL CHECK (state IN ('done', 'error')),
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by   text NOT NULL,
    request_id   text,
    attempts     integer NOT NULL,
    error        jsonb,
    order_id     text,
    traceparent  text
);
CREATE INDEX inbound_processed_state ON inbound_processed (state, processed_at DESC);
CREATE INDEX inbound_processed_recent ON inbound_processed (processed_at DESC);

-- Client retries: an Idempotency-Key, or an identical body with the same externalId, replays
-- the first answer for 24 hours.
CREATE TABLE idempotency_claim (
    key        uuid PRIMARY KEY,  -- app.domain.claims.claim_key of the claim's identity
    body_hash  text NOT NULL,
    status     integer NOT NULL,
    response   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_claim_created ON idempotency_claim (created_at);

-- Client-retry claims in one place: claims_take locks the keys and reads the live claims,
-- claims_save records first answers; the sync create path and inbound_accept both use them.
CREATE FUNCTION claims_take(claim_keys text[], claim_hours integer)
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

CREATE FUNCTION claims_save(
    claim_keys text[], body_hashes text[], statuses integer[], responses jsonb[]
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO idempotency_claim (key, body_hash, status, response)
    SELECT * FROM unnest(claim_keys::uuid[], body_hashes, statuses, responses)
    ON CONFLICT (key) DO UPDATE
       SET body_hash = EXCLUDED.body_hash, status = EXCLUDED.status,
           response = EXCLUDED.response, created_at = now()
$$;

-- Accepting a batch of async entries in one round trip, as one transaction. Entries none of
-- whose keys is held or already claimed are stored, in arrival order, with their claims and
-- the answers given for them. Returns what claims_take found.
-- Payloads come as an array of their own, entry n's at n: within `entries` each would be parsed
-- with the whole document and then again out of it.
CREATE FUNCTION inbound_accept(
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

-- Fulfilment: one domain order per line item (HasChild/HasParent give the hierarchy), and the
-- outbound requests sent for them (the outbox: written in the transaction that decides them).
CREATE TABLE domain_order (
    sys_id            text PRIMARY KEY,
    order_id          text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    line_item         text NOT NULL UNIQUE REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    parent            text REFERENCES domain_order (sys_id) ON DELETE CASCADE,
    fulfillment_state text NOT NULL DEFAULT 'not_started'
                      CHECK (fulfillment_state IN ('not_started', 'pending', 'fulfilled', 'error')),
    updates_available boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domain_order_order ON domain_order (order_id);
CREATE INDEX domain_order_parent ON domain_order (parent) WHERE parent IS NOT NULL;

CREATE SEQUENCE outbound_request_number START 1001;

CREATE TABLE outbound_request (
    number              text PRIMARY KEY
                        DEFAULT 'FO' || lpad(nextval('outbound_request_number')::text, 7, '0'),
    request_id          text NOT NULL,
    state               text NOT NULL
                        CHECK (state IN ('not_applicable', 'pending', 'fulfilled', 'error')),
    source_record       text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    table_name          text NOT NULL DEFAULT 'sn_ind_tmt_orm_order',
    domain_order        text NOT NULL REFERENCES domain_order (sys_id) ON DELETE CASCADE,
    target              text NOT NULL CHECK (target IN ('SOM', 'TOM')),
    previous_request_id text,
    attempts            integer NOT NULL DEFAULT 0,
    response            jsonb,
    enqueued_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Retries by time (migration 0005): the give-up horizon runs from the first attempt; a send
    -- failed or parked may go again at next_attempt_at (NULL: at once).
    first_attempt_at    timestamptz,
    next_attempt_at     timestamptz
);
CREATE INDEX outbound_request_request_id ON outbound_request (request_id);
CREATE INDEX outbound_request_domain_order ON outbound_request (domain_order);
CREATE INDEX outbound_request_source ON outbound_request (source_record, created_at);
CREATE INDEX outbound_request_unsent ON outbound_request ((greatest(enqueued_at, next_attempt_at)))
    WHERE state = 'not_applicable';

-- The console (docs/console.md; migration 0004): sign-in sessions shared by every API process,
-- the log of what operators did, the sends that failed or were given up, and the indexes its
-- pages read by.

CREATE TABLE console_session (
    token_digest   text PRIMARY KEY,  -- sha256 of the cookie's token; the token is not kept
    user_name      text NOT NULL REFERENCES app_user (name) ON DELETE CASCADE,
    password_check text NOT NULL,     -- digest of the user's password hash at sign-in
    csrf_token     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    flash          jsonb
);
CREATE INDEX console_session_expires ON console_session (expires_at);
CREATE INDEX console_session_user ON console_session (user_name);

-- Who did what, when: retries of inbound entries, outbound requests initiated from the console.
CREATE TABLE operator_action (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject    text NOT NULL,  -- the inbound entry's or the order's id
    action     text NOT NULL,
    actor      text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX operator_action_subject
    ON operator_action (subject, created_at DESC, id DESC);

-- Sends that failed and are being retried, or were given up (their records are deleted), with
-- the last error; a send that goes through removes its row.
CREATE TABLE outbound_failure (
    request_id text PRIMARY KEY,
    order_id   text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    target     text NOT NULL,
    numbers    text[] NOT NULL,
    attempts   integer NOT NULL,
    last_error text NOT NULL,
    given_up   boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- A send failing for long raises one jeopardy event (migration 0008).
    jeopardy_raised boolean NOT NULL DEFAULT false
);
CREATE INDEX outbound_failure_recent ON outbound_failure (updated_at DESC);
CREATE INDEX outbound_failure_order ON outbound_failure (order_id);

-- The console's reads: outbound requests counted by state, and orders found by customer name.
CREATE INDEX outbound_request_state ON outbound_request (state);
CREATE INDEX service_order_account
    ON service_order (account, order_date DESC, sys_id DESC) WHERE account IS NOT NULL;
CREATE INDEX service_order_consumer
    ON service_order (consumer, order_date DESC, sys_id DESC) WHERE consumer IS NOT NULL;
CREATE INDEX customer_account_name
    ON customer_account ((lower(name) COLLATE "C"), sys_id);
CREATE INDEX consumer_name ON consumer ((lower(name) COLLATE "C"), sys_id);

-- Event notifications (docs/api.md#event-notifications; migration 0008): the hub's
-- subscriptions, the events raised by order changes (written in the transaction of the
-- change), and one delivery per event and matching subscription, the outbox the delivery jobs
-- work from. A delivered row is deleted; a row given up stays `dead` until replayed.

CREATE TABLE hub_subscription (
    id            text PRIMARY KEY,
    owner         text NOT NULL REFERENCES app_user (name) ON DELETE CASCADE,
    callback      text NOT NULL,
    query         text NOT NULL DEFAULT '',
    secret        text NOT NULL,
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended')),
    failing_since timestamptz,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX hub_subscription_owner ON hub_subscription (owner);

CREATE TABLE order_event (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    order_id   text NOT NULL,  -- no foreign key: a delete event outlives its order
    event_type text NOT NULL,
    body       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    targets    text[]  -- the subscriptions it is for, until an event worker fans it out
);
CREATE INDEX order_event_unfanned ON order_event (seq) WHERE targets IS NOT NULL;

CREATE TABLE event_delivery (
    subscription     text NOT NULL REFERENCES hub_subscription (id) ON DELETE CASCADE,
    event_seq        bigint NOT NULL REFERENCES order_event (seq) ON DELETE CASCADE,
    order_id         text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    enqueued_at      timestamptz,  -- unused (app/store/migrations/0009_event_dispatch.sql)
    first_attempt_at timestamptz,
    next_attempt_at  timestamptz,
    leased_until     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (subscription, event_seq)
);
-- A lane is one subscription's events of one order, delivered in sequence.
CREATE INDEX event_delivery_lane ON event_delivery (subscription, order_id, event_seq)
    WHERE state = 'pending';
CREATE INDEX event_delivery_dead ON event_delivery (updated_at DESC)
    WHERE state = 'dead';
CREATE INDEX event_delivery_event ON event_delivery (event_seq);
ALTER TABLE event_delivery SET (
    autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.0, autovacuum_analyze_threshold = 1000
);
