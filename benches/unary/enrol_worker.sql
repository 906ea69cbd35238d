-- The statements one EnrolWorker sent before the unary work (as the capture printed them):
-- token, platform and cover-start windows reads, then one transaction. Unique keys come from two
-- random 48-bit numbers per transaction.
\set a random(1, 281474976710655)
\set b random(1, 281474976710655)
SELECT token_id, secret_hash, role, label, created_at, revoked_at FROM api_tokens WHERE token_id = :token_id;
SELECT platform_id, name, credit_code, industries, created_at FROM platforms WHERE platform_id = 'meituan';
SELECT province_code::text, max_cover_start_days_ahead FROM enrolment_policy WHERE max_cover_start_days_ahead IS NOT NULL;
BEGIN;
INSERT INTO idempotency_keys (caller, request_id, rpc, request_hash, response, response_key_id, created_at)
  SELECT 'platform-pgbench', t.request_id, 'EnrolWorker', t.request_hash, t.response, t.key_id, now()
  FROM UNNEST(ARRAY['pgb-' || :a::bigint || '-' || :b::bigint], ARRAY[sha256(int8send(:a::bigint))], ARRAY[decode(repeat('ab', 170), 'hex')], ARRAY['k1'])
       WITH ORDINALITY AS t(request_id, request_hash, response, key_id, n)
  ORDER BY t.n ON CONFLICT (caller, request_id) DO NOTHING RETURNING request_id;
SELECT t.province_code::text, t.day FROM UNNEST(ARRAY['44'], ARRAY['2026-01-05'::date]) AS t(province_code, day)
  WHERE EXISTS (SELECT 1 FROM pilot_scope s WHERE s.province_code = t.province_code AND s.platform_id = 'meituan'
                AND daterange(s.valid_from, s.valid_to) @> t.day);
INSERT INTO persons (person_key, id_ciphertext, id_key_id, id_masked, birth_date, created_at)
  SELECT t.person_key, t.id_ciphertext, t.id_key_id, t.id_masked, t.birth_date, now()
  FROM UNNEST(ARRAY[sha256(int8send(:a::bigint) || int8send(:b::bigint))], ARRAY[decode(repeat('cd', 46), 'hex')], ARRAY['k1'],
              ARRAY['110105********0017'], ARRAY['1960-01-01'::date])
       AS t(person_key, id_ciphertext, id_key_id, id_masked, birth_date)
  ON CONFLICT (person_key) DO NOTHING;
INSERT INTO enrolments (province_code, enrolment_id, platform_id, person_key, place_code, industry, status,
    cover_start, status_since, name_ciphertext, name_masked, phone_ciphertext, phone_masked, pii_key_id,
    created_at, created_by)
  SELECT t.province_code, t.enrolment_id, 'meituan', t.person_key, t.place_code, t.industry, 'active',
         t.cover_start, t.cover_start, t.name_ciphertext, t.name_masked, t.phone_ciphertext, t.phone_masked,
         t.pii_key_id, now(), 'platform-pgbench'
  FROM UNNEST(ARRAY['44'], ARRAY[(lpad(to_hex(:a::bigint), 16, '0') || lpad(to_hex(:b::bigint), 16, '0'))::uuid],
              ARRAY[sha256(int8send(:a::bigint) || int8send(:b::bigint))], ARRAY['440305'], ARRAY['instant_delivery'],
              ARRAY['2026-01-05'::date], ARRAY[decode(repeat('ef', 37), 'hex')], ARRAY['张**'],
              ARRAY[decode(repeat('12', 39), 'hex')], ARRAY['138****5678'], ARRAY['k1'])
       AS t(province_code, enrolment_id, person_key, place_code, industry, cover_start, name_ciphertext,
            name_masked, phone_ciphertext, phone_masked, pii_key_id)
  ON CONFLICT (platform_id, person_key) WHERE status IN ('active', 'suspended') DO NOTHING
  RETURNING enrolment_id;
INSERT INTO enrolment_history (province_code, enrolment_id, seq, status, effective_date, reason, actor, recorded_at)
  SELECT t.province_code, t.enrolment_id, 1, 'active', t.cover_start, 'enrolled', 'platform-pgbench', now()
  FROM UNNEST(ARRAY['44'], ARRAY[(lpad(to_hex(:a::bigint), 16, '0') || lpad(to_hex(:b::bigint), 16, '0'))::uuid],
              ARRAY['2026-01-05'::date]) AS t(province_code, enrolment_id, cover_start);
INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at)
  SELECT * FROM UNNEST(ARRAY['44'], ARRAY[(lpad(to_hex(:b::bigint), 16, '0') || lpad(to_hex(:a::bigint), 16, '0'))::uuid],
                       ARRAY['enrolment.opened.v1'],
                       ARRAY[(lpad(to_hex(:a::bigint), 16, '0') || lpad(to_hex(:b::bigint), 16, '0'))::uuid],
                       ARRAY[decode(repeat('0a', 180), 'hex')], ARRAY[now()]);
COMMIT;
