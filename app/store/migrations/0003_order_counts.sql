-- Reads that stay flat as the tables grow (docs/api.md#total-count).
--
-- Orders per state, kept by the statements that change service_order, in their transaction:
-- a list's X-Total-Count then sums a few rows instead of counting the table. Every statement
-- appends its changes as rows of its own, so concurrent writers never wait on a counter row
-- (nor deadlock over two); order_count_compact folds the rows together again.
-- Every statement may run again on a database that has them (no schema_migration record).
CREATE TABLE IF NOT EXISTS order_count (
    state text NOT NULL,
    n     bigint NOT NULL
);

CREATE OR REPLACE FUNCTION order_count_changed() RETURNS trigger
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

CREATE OR REPLACE TRIGGER order_count_insert AFTER INSERT ON service_order
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_count_changed();
CREATE OR REPLACE TRIGGER order_count_update AFTER UPDATE ON service_order
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_count_changed();
CREATE OR REPLACE TRIGGER order_count_delete AFTER DELETE ON service_order
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION order_count_changed();

-- The triggers take a lock that waits for writers in flight, so this count misses none.
DELETE FROM order_count;
INSERT INTO order_count (state, n) SELECT state, count(*) FROM service_order GROUP BY state;

-- Rows deleted are those this statement sees; rows appended meanwhile stay for the next
-- call, so no change is lost or doubled. One call at a time: the others have nothing to do.
CREATE OR REPLACE FUNCTION order_count_compact() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_try_advisory_xact_lock(hashtextextended('order_count_compact', 0)) THEN
        WITH gone AS (DELETE FROM order_count RETURNING state, n)
        INSERT INTO order_count (state, n)
        SELECT state, sum(n) FROM gone GROUP BY state HAVING sum(n) <> 0;
    END IF;
END
$$;

-- Foreign keys whose referencing side had no index: deleting an order or a line item read
-- these tables whole, and the standard flavour's cancelled orders read order_cancellation.
CREATE INDEX IF NOT EXISTS order_cancellation_order ON order_cancellation (order_id);
CREATE INDEX IF NOT EXISTS order_line_item_parent ON order_line_item (parent_line_item)
    WHERE parent_line_item IS NOT NULL;
CREATE INDEX IF NOT EXISTS order_line_related_item_related ON order_line_related_item (related_line_item);
CREATE INDEX IF NOT EXISTS work_note_line_item ON work_note (line_item) WHERE line_item IS NOT NULL;
CREATE INDEX IF NOT EXISTS domain_order_parent ON domain_order (parent) WHERE parent IS NOT NULL;
