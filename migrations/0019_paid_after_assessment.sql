-- The day (China Standard Time) each assessment was made, stored with its items: a benefit is
-- never paid before it was assessed, and periodic benefits run from the assessment's month.
ALTER TABLE benefit_items ADD COLUMN assessed_on date;
UPDATE benefit_items b SET assessed_on = (
    SELECT (max(t.at) AT TIME ZONE INTERVAL '+08:00')::date FROM claim_timeline t
    WHERE t.province_code = b.province_code AND t.claim_id = b.claim_id AND t.step = 'assessed');
-- An item whose assessment left no timeline entry cannot exist; this keeps the column total.
UPDATE benefit_items SET assessed_on = DATE '2022-07-01' WHERE assessed_on IS NULL;
ALTER TABLE benefit_items ALTER COLUMN assessed_on SET NOT NULL;
