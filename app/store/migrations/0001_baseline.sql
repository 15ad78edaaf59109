-- The schema as it stood when migrations began. Every statement is idempotent, so this also
-- brings a database made before then (by applying schema.sql) to the same point.

CREATE TABLE IF NOT EXISTS app_user (
    name          text PRIMARY KEY,
    password_hash text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Reference data ("catalogue"), loaded by `orderhub catalog load FILE`. Every record is found by
-- sys_id or by external_id.

CREATE TABLE IF NOT EXISTS customer_account (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_account_external_id ON customer_account (external_id);

CREATE TABLE IF NOT EXISTS customer_contact (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL,
    first_name  text NOT NULL DEFAULT '',
    last_name   text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    account     text REFERENCES customer_account (sys_id)
);
CREATE INDEX IF NOT EXISTS customer_contact_external_id ON customer_contact (external_id);

CREATE TABLE IF NOT EXISTS consumer (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX IF NOT EXISTS consumer_external_id ON consumer (external_id);

CREATE TABLE IF NOT EXISTS location (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX IF NOT EXISTS location_external_id ON location (external_id);

-- One row per version; versions of one specification share initial_version and external_id.
CREATE TABLE IF NOT EXISTS service_specification (
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
CREATE INDEX IF NOT EXISTS service_specification_external_id ON service_specification (external_id);

CREATE TABLE IF NOT EXISTS service_offering (
    sys_id      text PRIMARY KEY,
    external_id text,
    name        text NOT NULL
);
CREATE INDEX IF NOT EXISTS service_offering_external_id ON service_offering (external_id);

CREATE TABLE IF NOT EXISTS product_inventory (
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
CREATE INDEX IF NOT EXISTS product_inventory_external_id ON product_inventory (external_id);

-- Service Order Outbound Policy: which system fulfils a specification, hierarchically or not.
CREATE TABLE IF NOT EXISTS outbound_policy (
    specification text NOT NULL REFERENCES service_specification (sys_id),
    action        text NOT NULL DEFAULT '',
    hierarchical  boolean NOT NULL,
    target        text NOT NULL CHECK (target IN ('SOM', 'TOM')),
    PRIMARY KEY (specification, action)
);

-- Orders. One transaction writes an order with all its rows.

CREATE TABLE IF NOT EXISTS service_order (
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
    updated_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS service_order_listing ON service_order (order_date DESC, sys_id DESC);
CREATE INDEX IF NOT EXISTS service_order_state ON service_order (state, order_date DESC, sys_id DESC);
CREATE INDEX IF NOT EXISTS service_order_external_id ON service_order (external_id);

CREATE TABLE IF NOT EXISTS order_related_party (
    order_id      text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    position      integer NOT NULL,
    party_id      text NOT NULL,
    name          text,
    referred_type text NOT NULL,
    PRIMARY KEY (order_id, position)
);

CREATE TABLE IF NOT EXISTS order_note (
    order_id text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    position integer NOT NULL,
    note_id  text,
    text     text NOT NULL,
    author   text NOT NULL,
    date     timestamptz NOT NULL,
    PRIMARY KEY (order_id, position)
);

CREATE TABLE IF NOT EXISTS order_line_item (
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
CREATE INDEX IF NOT EXISTS order_line_item_order ON order_line_item (order_id, position);
CREATE INDEX IF NOT EXISTS order_line_item_inventory ON order_line_item (inventory);

CREATE TABLE IF NOT EXISTS order_characteristic_value (
    line_item      text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    position       integer NOT NULL,
    name           text NOT NULL,
    value          text NOT NULL DEFAULT '',
    previous_value text NOT NULL DEFAULT '',
    value_type     text,
    PRIMARY KEY (line_item, position)
);

CREATE TABLE IF NOT EXISTS order_line_item_contact (
    sys_id        text PRIMARY KEY,
    line_item     text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    position      integer NOT NULL,
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    referred_type text NOT NULL DEFAULT 'OrderLineItemContact'
);
CREATE INDEX IF NOT EXISTS order_line_item_contact_item ON order_line_item_contact (line_item);

-- Requires relationships between line items (HasChild/HasParent set parent_line_item instead).
CREATE TABLE IF NOT EXISTS order_line_related_item (
    line_item         text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    related_line_item text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    relationship_type text NOT NULL,
    PRIMARY KEY (line_item, related_line_item, relationship_type)
);

CREATE TABLE IF NOT EXISTS order_service_relationship (
    line_item         text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    position          integer NOT NULL,
    inventory_ref     text NOT NULL,
    inventory         text NOT NULL,
    relationship_type text NOT NULL,
    PRIMARY KEY (line_item, position)
);

CREATE TABLE IF NOT EXISTS order_external_inventory (
    line_item    text NOT NULL REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    external_id  text NOT NULL,
    PRIMARY KEY (line_item, external_id)
);

CREATE TABLE IF NOT EXISTS work_note (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    line_item  text REFERENCES order_line_item (sys_id) ON DELETE CASCADE,
    text       text NOT NULL,
    author     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS work_note_order ON work_note (order_id, created_at DESC, id DESC);

-- What each accepted PATCH changed, by whom and when.
CREATE TABLE IF NOT EXISTS order_revision (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    version    integer NOT NULL,
    changes    jsonb NOT NULL,
    author     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_revision_order ON order_revision (order_id, version);

-- Cancellation requests (the cancel resource of both API flavours).
CREATE TABLE IF NOT EXISTS order_cancellation (
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
CREATE INDEX IF NOT EXISTS order_cancellation_listing ON order_cancellation (created_at DESC, sys_id DESC);

-- Async ingestion. The hot queue holds only entries still to be processed, so dequeueing
-- costs the same whatever the history; processed entries move to inbound_processed.
CREATE TABLE IF NOT EXISTS inbound_queue (
    id             text PRIMARY KEY,  -- the id the order will have
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    payload        jsonb NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by     text NOT NULL,
    request_id     text,
    inventory_keys text[] NOT NULL DEFAULT '{}',
    attempts       integer NOT NULL DEFAULT 0,
    enqueued_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Only entries naming an inventory are ordered, so only theirs are indexed.
DROP INDEX IF EXISTS inbound_queue_keys;
CREATE INDEX IF NOT EXISTS inbound_queue_ordered ON inbound_queue USING gin (inventory_keys)
 WHERE inventory_keys <> '{}';
CREATE INDEX IF NOT EXISTS inbound_queue_enqueued ON inbound_queue (enqueued_at);
-- Payloads stay compressed (toast_tuple_target at its default): uncompressed inserts are
-- cheaper, but a backlog of 100,000 entries then outgrows shared_buffers and draining it
-- slows to half.
ALTER TABLE inbound_queue SET (
    autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.0, autovacuum_analyze_threshold = 1000
);
ALTER TABLE inbound_queue RESET (toast_tuple_target);

CREATE TABLE IF NOT EXISTS inbound_processed (
    id           text PRIMARY KEY,
    state        text NOT NULL CHECK (state IN ('done', 'error')),
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by   text NOT NULL,
    request_id   text,
    attempts     integer NOT NULL,
    error        jsonb,
    order_id     text
);
CREATE INDEX IF NOT EXISTS inbound_processed_state ON inbound_processed (state, processed_at DESC);
CREATE INDEX IF NOT EXISTS inbound_processed_recent ON inbound_processed (processed_at DESC);

-- Client retries: an Idempotency-Key, or an identical body with the same externalId, replays
-- the first answer for 24 hours.
CREATE TABLE IF NOT EXISTS idempotency_claim (
    key        uuid PRIMARY KEY,  -- app.domain.ingestion.claim_key of the claim's identity
    body_hash  text NOT NULL,
    status     integer NOT NULL,
    response   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idempotency_claim_created ON idempotency_claim (created_at);
-- Keys were once the identity itself (text); they become its digest, as claim_key computes it.
DO $$
BEGIN
    IF (SELECT data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'idempotency_claim'
           AND column_name = 'key') = 'text' THEN
        ALTER TABLE idempotency_claim ALTER COLUMN key TYPE uuid
            USING encode(substr(sha256(convert_to(key, 'UTF8')), 1, 16), 'hex')::uuid;
    END IF;
END
$$;

-- Accepting a batch of async entries in one round trip, as one transaction. The keys are locked
-- first; each later statement of a function takes a fresh snapshot, so the claims read after the
-- locks include any committed by the request that held a key just before. Entries none of whose
-- keys is held or already claimed are stored, in arrival order, with their claims. Returns the
-- live claims found (held = false) and the keys another transaction holds (held = true).
-- Payloads come as an array of their own, entry n's at n: within `entries` each was parsed with
-- the whole document and then parsed again out of it (7% of the batch's cost).
DROP FUNCTION IF EXISTS inbound_accept(jsonb, text[], text[], text[], text[], integer);
CREATE OR REPLACE FUNCTION inbound_accept(
    entries jsonb, payloads text[], batch_keys text[], claim_keys text[], claim_hashes text[],
    claim_ids text[], claim_hours integer
) RETURNS TABLE (key text, body_hash text, status integer, response jsonb, held boolean)
-- Planned once: a custom plan for every batch cost PostgreSQL about 15% of the batch.
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    busy text[];
BEGIN
    SELECT COALESCE(array_agg(k), '{}') INTO busy FROM unnest(batch_keys) AS k
     WHERE NOT pg_try_advisory_xact_lock(hashtextextended(k, 0));
    RETURN QUERY
    WITH found AS (
        SELECT c.key::text AS key, c.body_hash, c.status, c.response FROM idempotency_claim c
         WHERE c.key = ANY(batch_keys::uuid[]) AND NOT c.key::text = ANY(busy)
           -- on created_at's side, this would have the planner scan the day's claims
           AND c.created_at + make_interval(hours => claim_hours) > now()
    ), fresh AS (
        SELECT e.* FROM ROWS FROM (jsonb_to_recordset(entries) AS (
                   id text, created_by text, request_id text, refs text[], keys text[]
               )) WITH ORDINALITY AS e(id, created_by, request_id, refs, keys, n)
         WHERE NOT e.keys && busy AND NOT EXISTS (SELECT 1 FROM found WHERE found.key = ANY(e.keys))
    ), queued AS (
        INSERT INTO inbound_queue (id, payload, created_by, request_id, inventory_keys)
        SELECT e.id, payloads[e.n]::jsonb, e.created_by, e.request_id,
               CASE WHEN e.refs = '{}' THEN e.refs  -- most entries: no lookup at all
                    ELSE e.refs || COALESCE((SELECT array_agg(p.sys_id) FROM product_inventory p
                                              WHERE p.sys_id = ANY(e.refs)
                                                 OR p.external_id = ANY(e.refs)), '{}') END
          FROM fresh e ORDER BY e.n
    ), claimed AS (
        INSERT INTO idempotency_claim (key, body_hash, status, response)
        SELECT c.key::uuid, c.body_hash, 202, jsonb_build_object('orderId', c.id)
          FROM unnest(claim_keys, claim_hashes, claim_ids) AS c(key, body_hash, id)
         WHERE c.id IN (SELECT id FROM fresh)
        ON CONFLICT (key) DO UPDATE
           SET body_hash = EXCLUDED.body_hash, status = EXCLUDED.status,
               response = EXCLUDED.response, created_at = now()
    )
    SELECT f.key, f.body_hash, f.status, f.response, false FROM found f
    UNION ALL
    SELECT k, NULL, NULL, NULL, true FROM unnest(busy) AS k;
END
$$;

-- Fulfilment: one domain order per line item (HasChild/HasParent give the hierarchy), and the
-- outbound requests sent for them (the outbox: written in the transaction that decides them).
CREATE TABLE IF NOT EXISTS domain_order (
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
CREATE INDEX IF NOT EXISTS domain_order_order ON domain_order (order_id);

CREATE SEQUENCE IF NOT EXISTS outbound_request_number START 1001;

CREATE TABLE IF NOT EXISTS outbound_request (
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
    updated_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS outbound_request_request_id ON outbound_request (request_id);
CREATE INDEX IF NOT EXISTS outbound_request_domain_order ON outbound_request (domain_order);
CREATE INDEX IF NOT EXISTS outbound_request_source ON outbound_request (source_record, created_at);
CREATE INDEX IF NOT EXISTS outbound_request_unsent ON outbound_request (enqueued_at)
    WHERE state = 'not_applicable';
