-- Event deliveries are written by the event workers, not by the change. The change's transaction
-- writes its events, each with the subscriptions it is for (`targets`); an event worker turns
-- them into delivery rows (fans them out) and clears `targets`. Ten subscribers then cost an
-- order change one row per event, not eleven, and the rest is done on the event workers' CPU.
-- Deliveries are no longer stamped when a job is asked for them: the NOTIFY of a fan-out's
-- commit names the subscriptions, and the sweep asks which have a delivery due. The column
-- event_delivery.enqueued_at stays, unused: 0008 may run again on a database that has all of
-- them, and its index on the column would fail without it.
-- Every statement may run again on a database that has them (no schema_migration record).
ALTER TABLE order_event ADD COLUMN IF NOT EXISTS targets text[];
CREATE INDEX IF NOT EXISTS order_event_unfanned ON order_event (seq) WHERE targets IS NOT NULL;
DROP INDEX IF EXISTS event_delivery_unenqueued;
DROP INDEX IF EXISTS event_delivery_due;
