-- +goose Up
-- btree_gist lets one exclusion constraint say "no two slots of a doctor overlap".
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A doctor's availability, replaced as a whole. Times are wall-clock times in the
-- doctor's time zone (from the directory), read when slots are generated.
CREATE TABLE availability (
    doctor_id    uuid PRIMARY KEY,
    slot_minutes integer NOT NULL CHECK (slot_minutes BETWEEN 0 AND 240),
    gap_minutes  integer NOT NULL CHECK (gap_minutes BETWEEN 0 AND 120),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- When slots were last generated (by a change or by the daily roll-forward).
    rolled_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX availability_rolled_idx ON availability (rolled_at);

CREATE TABLE availability_windows (
    doctor_id  uuid NOT NULL REFERENCES availability (doctor_id) ON DELETE CASCADE,
    weekday    smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 Monday … 7 Sunday
    start_time time NOT NULL,
    end_time   time NOT NULL, -- 24:00:00 for midnight
    CHECK (end_time > start_time)
);
CREATE INDEX availability_windows_doctor_idx ON availability_windows (doctor_id);

CREATE TABLE availability_exceptions (
    doctor_id  uuid NOT NULL REFERENCES availability (doctor_id) ON DELETE CASCADE,
    day        date NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('day_off', 'extra')),
    start_time time,
    end_time   time,
    CHECK ((kind = 'day_off') = (start_time IS NULL AND end_time IS NULL)),
    CHECK (kind = 'day_off' OR end_time > start_time)
);
CREATE INDEX availability_exceptions_doctor_idx ON availability_exceptions (doctor_id, day);

-- Bookable periods, materialised for the coming weeks as UTC instants.
CREATE TABLE slots (
    id         uuid PRIMARY KEY,
    doctor_id  uuid NOT NULL,
    start_at   timestamptz NOT NULL,
    end_at     timestamptz NOT NULL,
    -- open: bookable; blocked: taken out by the doctor. A slot held by a live
    -- appointment is found through appointments, not through this column, so the one
    -- constraint below is the only source of truth about who holds it.
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'blocked')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (end_at > start_at),
    UNIQUE (doctor_id, start_at),
    CONSTRAINT slots_no_overlap EXCLUDE USING gist (doctor_id WITH =, tstzrange(start_at, end_at) WITH &&)
);
CREATE INDEX slots_doctor_start_idx ON slots (doctor_id, start_at);

-- Appointments (booking fills in the rest of their life). At most one live appointment
-- holds a slot: the partial unique index makes concurrent bookers race in the database,
-- where exactly one wins.
CREATE TABLE appointments (
    id          uuid PRIMARY KEY,
    -- The slot while it exists; a freed slot that availability later drops is deleted,
    -- and the appointment keeps its own copy of the times.
    slot_id     uuid REFERENCES slots (id) ON DELETE SET NULL,
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    doctor_id   uuid NOT NULL,
    patient_id  uuid NOT NULL,
    state       text NOT NULL CHECK (state IN ('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED', 'COMPLETED',
                                               'EXPIRED', 'REFUSED', 'CANCELLED')),
    price_cents bigint NOT NULL CHECK (price_cents > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX appointments_one_live_per_slot ON appointments (slot_id)
    WHERE state IN ('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED');
CREATE INDEX appointments_doctor_idx ON appointments (doctor_id, created_at);
CREATE INDEX appointments_patient_idx ON appointments (patient_id, created_at);

-- +goose Down
DROP TABLE appointments;
DROP TABLE slots;
DROP TABLE availability_exceptions;
DROP TABLE availability_windows;
DROP TABLE availability;
