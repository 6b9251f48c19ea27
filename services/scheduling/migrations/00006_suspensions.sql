-- +goose Up
-- Doctors identity suspended (SuspendDoctor): their slots are no longer offered, they
-- set no availability, and nothing of theirs is booked. Bookings read this table under
-- a per-doctor lock that the suspension takes exclusively, so a booking racing with the
-- suspension either commits first (and the suspension refuses it) or sees the row.
CREATE TABLE suspended_doctors (
    doctor_id    uuid PRIMARY KEY,
    suspended_at timestamptz NOT NULL
);

-- An operator's suspension refuses the doctor's appointments: the history names the
-- operator's act (identity audits which operator).
ALTER TABLE appointment_history DROP CONSTRAINT appointment_history_actor_role_check;
ALTER TABLE appointment_history ADD CONSTRAINT appointment_history_actor_role_check
    CHECK (actor_role IN ('patient', 'doctor', 'system', 'operator'));

-- +goose Down
ALTER TABLE appointment_history DROP CONSTRAINT appointment_history_actor_role_check;
ALTER TABLE appointment_history ADD CONSTRAINT appointment_history_actor_role_check
    CHECK (actor_role IN ('patient', 'doctor', 'system'));
DROP TABLE suspended_doctors;
