-- The statements one CheckCoverage by ID number sent before the unary work: the token, then one
-- transaction with the coverage read and its access-log row in one statement, and the rate.
SELECT token_id, secret_hash, role, label, created_at, revoked_at FROM api_tokens WHERE token_id = :token_id;
BEGIN;
SET LOCAL plan_cache_mode = force_generic_plan;
WITH candidates AS (
    SELECT e.enrolment_id FROM enrolments e
    WHERE e.person_key = decode(:person_key::text, 'hex') AND e.platform_id = 'meituan'
      AND e.cover_start <= current_date AND (e.cover_end IS NULL OR current_date < e.cover_end)
      AND CASE WHEN e.status_since <= current_date THEN e.status
               ELSE (SELECT h.status FROM enrolment_history h
                     WHERE h.province_code = e.province_code AND h.enrolment_id = e.enrolment_id
                       AND h.effective_date <= current_date ORDER BY h.seq DESC LIMIT 1) END = 'active'),
chosen AS (
    SELECT c.enrolment_id, o.order_id, o.accepted_at AS order_accepted_at
    FROM candidates c
    LEFT JOIN LATERAL (
        SELECT * FROM orders o
        WHERE o.enrolment_id = c.enrolment_id AND o.accepted_at <= now()
          AND o.accepted_at >= now() - make_interval(hours => 48)
          AND (o.completed_at >= now() OR (o.completed_at IS NULL AND o.accepted_at >= now() - make_interval(hours => 12)))
        ORDER BY o.accepted_at DESC LIMIT 1) o ON true
    ORDER BY o.order_id IS NULL, c.enrolment_id DESC LIMIT 1),
logged AS (
    INSERT INTO person_access_log (access_id, accessed_at, actor, token_id, person_key, rpc, results)
    SELECT gen_random_uuid(), now(), 'platform-pgbench', :token_id::text, decode(:person_key::text, 'hex'), 'CheckCoverage',
           (SELECT count(*) FROM candidates))
SELECT r.*, c.order_id, c.order_accepted_at
FROM chosen c CROSS JOIN LATERAL (
    SELECT e.province_code, e.enrolment_id, e.platform_id, e.place_code, e.industry, e.status, e.cover_start,
           p.id_masked, e.name_masked, e.phone_masked, e.created_at, e.cover_end, e.transferred_from, e.transferred_to
    FROM enrolments e JOIN persons p USING (person_key) WHERE e.enrolment_id = c.enrolment_id) r;
SELECT t.province_code, t.day, b.base_rate_id, b.fen_per_order, m.multiplier_id, m.tenths
FROM UNNEST(ARRAY['44'], ARRAY['instant_delivery'], ARRAY[current_date]) AS t(province_code, industry, day)
JOIN LATERAL (SELECT b.* FROM base_rates b
              WHERE b.industry = t.industry AND b.valid_from <= t.day
                AND b.rate_class = COALESCE((SELECT c.rate_class FROM platform_rate_classes c
                                             WHERE c.platform_id = 'meituan' AND c.industry = t.industry), 'standard')
              ORDER BY b.valid_from DESC LIMIT 1) b ON true
LEFT JOIN LATERAL (SELECT m.* FROM rate_multipliers m
                   WHERE m.province_code = t.province_code AND m.platform_id = 'meituan'
                     AND m.industry = t.industry AND m.valid_from <= t.day
                   ORDER BY m.valid_from DESC LIMIT 1) m ON true;
COMMIT;
