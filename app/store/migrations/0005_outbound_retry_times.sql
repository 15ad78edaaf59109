-- Sends retried by time rather than by count (docs/api.md#fulfilment): when a send was first
-- attempted (its give-up horizon runs from then) and when it may go next (a failed send waits
-- its back-off, a parked one its breaker); the sweeper re-enqueues a lost send only once it is
-- due. Both columns are nullable without a default, so adding them rewrites no row.
-- Every statement may run again on a database that has them.

ALTER TABLE outbound_request ADD COLUMN IF NOT EXISTS first_attempt_at timestamptz;
ALTER TABLE outbound_request ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;

-- Sends already retried: their horizon runs from when they were initiated.
UPDATE outbound_request SET first_attempt_at = created_at
 WHERE state = 'not_applicable' AND attempts > 0 AND first_attempt_at IS NULL;

DROP INDEX IF EXISTS outbound_request_unsent;
CREATE INDEX outbound_request_unsent ON outbound_request ((greatest(enqueued_at, next_attempt_at)))
    WHERE state = 'not_applicable';
