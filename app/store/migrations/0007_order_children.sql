-- Reading one order (or a page of them) plans its query once instead of on every read.
-- Every statement may run again on a database that has them (no schema_migration record).
-- Everything below some orders in one round trip, each table as a JSON array (app/store/orders.py
-- `load`): nine queries cost nine waits for PostgreSQL, which under load was most of a GET.
-- Rows below a line item are found by the items' ids (an array, as if passed in), each from
-- its own table's index: a join through order_line_item left the plan to estimates, and a poor
-- one read them whole. Planned once: a custom plan for each read cost more than running it
-- (docs/benchmarks.md).
CREATE OR REPLACE FUNCTION order_children(ids text[])
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
