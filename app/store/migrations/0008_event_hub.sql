-- Event notifications (docs/api.md#event-notifications): the hub's subscriptions, the events
-- raised by order changes (written in the transaction of the change), and one delivery per
-- event and matching subscription, the outbox the delivery jobs work from. A delivered row is
-- deleted; a row given up stays `dead` until replayed. Every statement may run again on a
-- database that has them.

CREATE TABLE IF NOT EXISTS hub_subscription (
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
CREATE INDEX IF NOT EXISTS hub_subscription_owner ON hub_subscription (owner);

CREATE TABLE IF NOT EXISTS order_event (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    order_id   text NOT NULL,  -- no foreign key: a delete event outlives its order
    event_type text NOT NULL,
    body       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE IF NOT EXISTS event_delivery (
    subscription     text NOT NULL REFERENCES hub_subscription (id) ON DELETE CASCADE,
    event_seq        bigint NOT NULL REFERENCES order_event (seq) ON DELETE CASCADE,
    order_id         text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    enqueued_at      timestamptz,  -- NULL: no job asked for yet
    first_attempt_at timestamptz,
    next_attempt_at  timestamptz,
    leased_until     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (subscription, event_seq)
);
-- A lane is one subscription's events of one order, delivered in sequence.
CREATE INDEX IF NOT EXISTS event_delivery_lane ON event_delivery (subscription, order_id, event_seq)
    WHERE state = 'pending';
-- A subscription's deliveries due, oldest first.
CREATE INDEX IF NOT EXISTS event_delivery_due ON event_delivery (subscription, event_seq)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS event_delivery_unenqueued ON event_delivery (created_at)
    WHERE state = 'pending' AND enqueued_at IS NULL;
CREATE INDEX IF NOT EXISTS event_delivery_dead ON event_delivery (updated_at DESC)
    WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS event_delivery_event ON event_delivery (event_seq);
ALTER TABLE event_delivery SET (
    autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.0, autovacuum_analyze_threshold = 1000
);

-- A send to SOM/TOM failing for long raises one jeopardy event (docs/api.md#event-types).
ALTER TABLE outbound_failure ADD COLUMN IF NOT EXISTS jeopardy_raised boolean NOT NULL DEFAULT false;
