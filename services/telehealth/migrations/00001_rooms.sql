-- +goose Up
-- One consultation room per CONFIRMED appointment, prepared when the appointment is
-- confirmed (or at its first join). The video meeting behind it is created at the first
-- join inside the window, replaced when the provider ended it early, and ended when
-- the window closes. No join token or meeting document is kept: the meetings service
-- hands them out again on every join.
CREATE TABLE rooms (
    appointment_id      uuid PRIMARY KEY,
    doctor_id           uuid NOT NULL,
    patient_id          uuid NOT NULL,
    -- The consultation, as scheduling booked it (its length is the doctor's
    -- consultation length). The room opens a few minutes before start_at and closes at
    -- end_at.
    start_at            timestamptz NOT NULL,
    end_at              timestamptz NOT NULL CHECK (end_at > start_at),
    -- The provider's id of the current meeting; null until the first join.
    provider_meeting_id text,
    -- How many times the meeting was replaced after the provider ended it: the
    -- idempotency token of a creation names it, so a retried creation gets the same
    -- meeting and a replacement a new one.
    meeting_generation  integer NOT NULL DEFAULT 0 CHECK (meeting_generation >= 0),
    meeting_created_at  timestamptz,
    created_at          timestamptz NOT NULL,
    -- When the window closed and the meeting was ended; null while open.
    closed_at           timestamptz
);
