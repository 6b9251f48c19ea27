-- +goose Up
-- A document whose patient erased their account is kept for the retention the law
-- sets for medical records (CFM 1.821/2007, Lei 13.787/2018: 20 years from the last
-- entry): the date until which it must be kept, set by HoldPatientRecords. NULL while
-- the account lives (records are then kept for as long as the patient keeps them).
ALTER TABLE documents ADD COLUMN retention_until timestamptz;

-- +goose Down
ALTER TABLE documents DROP COLUMN retention_until;
