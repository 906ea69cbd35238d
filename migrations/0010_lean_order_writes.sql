-- Orders are the hottest write path (tens of thousands a second). Each order row paid for three
-- index entries and two foreign-key checks; it now pays for two entries and none.
--
-- The rate versions an order names come from the rate resolution in the same transaction, and rate
-- versions are append-only (below), so the references cannot dangle without the per-row checks
-- (which also locked the one shared rate row from every concurrent chunk).
ALTER TABLE orders DROP CONSTRAINT orders_base_rate_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_multiplier_id_fkey;

CREATE TRIGGER base_rates_append_only
    BEFORE UPDATE OR DELETE ON base_rates
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();
CREATE TRIGGER base_rates_no_truncate
    BEFORE TRUNCATE ON base_rates
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only_table();
CREATE TRIGGER rate_multipliers_append_only
    BEFORE UPDATE OR DELETE ON rate_multipliers
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();
CREATE TRIGGER rate_multipliers_no_truncate
    BEFORE TRUNCATE ON rate_multipliers
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only_table();

-- An order is identified by (platform, order id) whatever province it names: that unique index is
-- the key, and the former (province, platform, order id) key was a redundant third index.
ALTER TABLE orders DROP CONSTRAINT orders_pkey;
ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_once;
