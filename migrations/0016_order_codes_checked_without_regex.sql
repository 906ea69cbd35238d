-- Orders are the hottest write path. Their two code-shape checks ran a regular expression per row:
-- 2% of the machine's CPU during ingest (perf). One check without a regex now says the same and
-- more: the place is six ASCII digits and the province is its first two.
ALTER TABLE orders
    DROP CONSTRAINT orders_place_code_shape,
    DROP CONSTRAINT orders_province_code_shape,
    ADD CONSTRAINT orders_codes_shape CHECK (
        octet_length(place_code) = 6
        AND ltrim(place_code, '0123456789') = ''
        AND province_code = left(place_code, 2));
