-- The console (docs/console.md): sign-in sessions shared by every API process, the log of what
-- operators did, the sends that failed or were given up, and the indexes its pages read by.
-- Indexes on big tables are built in the migration's transaction: on a large live table that
-- blocks writes to it while it runs (seconds for a million orders).
-- Every statement may run again on a database that has them (no schema_migration record).

CREATE TABLE IF NOT EXISTS console_session (
    token_digest   text PRIMARY KEY,  -- sha256 of the cookie's token; the token is not kept
    user_name      text NOT NULL REFERENCES app_user (name) ON DELETE CASCADE,
    password_check text NOT NULL,     -- digest of the user's password hash at sign-in
    csrf_token     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    flash          jsonb
);
CREATE INDEX IF NOT EXISTS console_session_expires ON console_session (expires_at);
CREATE INDEX IF NOT EXISTS console_session_user ON console_session (user_name);

-- Who did what, when: retries of inbound entries, outbound requests initiated from the console.
CREATE TABLE IF NOT EXISTS operator_action (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject    text NOT NULL,  -- the inbound entry's or the order's id
    action     text NOT NULL,
    actor      text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS operator_action_subject
    ON operator_action (subject, created_at DESC, id DESC);

-- Sends that failed and are being retried, or were given up (their records are deleted), with
-- the last error; a send that goes through removes its row.
CREATE TABLE IF NOT EXISTS outbound_failure (
    request_id text PRIMARY KEY,
    order_id   text NOT NULL REFERENCES service_order (sys_id) ON DELETE CASCADE,
    target     text NOT NULL,
    numbers    text[] NOT NULL,
    attempts   integer NOT NULL,
    last_error text NOT NULL,
    given_up   boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS outbound_failure_recent ON outbound_failure (updated_at DESC);
CREATE INDEX IF NOT EXISTS outbound_failure_order ON outbound_failure (order_id);

-- The console's reads: outbound requests counted by state, and orders found by customer name.
CREATE INDEX IF NOT EXISTS outbound_request_state ON outbound_request (state);
CREATE INDEX IF NOT EXISTS service_order_account
    ON service_order (account, order_date DESC, sys_id DESC) WHERE account IS NOT NULL;
CREATE INDEX IF NOT EXISTS service_order_consumer
    ON service_order (consumer, order_date DESC, sys_id DESC) WHERE consumer IS NOT NULL;
CREATE INDEX IF NOT EXISTS customer_account_name
    ON customer_account ((lower(name) COLLATE "C"), sys_id);
CREATE INDEX IF NOT EXISTS consumer_name ON consumer ((lower(name) COLLATE "C"), sys_id);
