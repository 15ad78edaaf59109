-- OrderHub schema. Applied by `orderhub db init`; every statement is idempotent, so applying
-- it again on a live database changes nothing that exists.

CREATE TABLE IF NOT EXISTS app_user (
    name          text PRIMARY KEY,
    password_hash text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
