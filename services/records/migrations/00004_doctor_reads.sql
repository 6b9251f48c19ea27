-- +goose Up
-- The daily digest of doctors' reads of shared documents reads one day of the log by
-- time; the patient-first index does not serve that, and the log only grows.
CREATE INDEX access_log_doctor_reads_idx ON access_log (at) WHERE actor_role = 'doctor' AND outcome = 'ok';

-- +goose Down
DROP INDEX access_log_doctor_reads_idx;
