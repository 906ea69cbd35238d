-- The statements one GetRate sent before the unary work: the token, then the rate in force.
SELECT token_id, secret_hash, role, label, created_at, revoked_at FROM api_tokens WHERE token_id = :token_id;
SELECT t.province_code, t.day, b.base_rate_id, b.industry, b.rate_class, b.valid_from, b.fen_per_order,
       m.multiplier_id, m.tenths, m.valid_from
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
