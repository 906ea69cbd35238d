-- Working days past the loaded years (DOMAIN.md, Working days): a decision due date whose count
-- reaches into a year with no loaded holiday notice is counted on that year's statutory holidays
-- and is provisional; when SetPublicHoliday loads the year, the due dates of open claims that
-- depend on it are counted again from the day their count started.
ALTER TABLE claims
    ADD COLUMN decision_due_provisional boolean NOT NULL DEFAULT false,
    ADD COLUMN decision_counted_from date;
CREATE INDEX claims_provisional_due ON claims (decision_due_provisional)
    WHERE decision_due_provisional;
