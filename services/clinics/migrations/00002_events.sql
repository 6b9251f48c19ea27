-- +goose Up
-- Partner events: the clinics' endpoints, the events scheduling published, and each
-- event's delivery to each endpoint (the delivery log; its sending is a River job).
CREATE TABLE event_endpoints (
    id                     uuid PRIMARY KEY,
    clinic_id              uuid NOT NULL REFERENCES clinics (id),
    url                    text NOT NULL,
    types                  text[] NOT NULL,
    -- The signing secret, sealed by the keys service (envelope, aad = the endpoint's id):
    -- it must be usable to sign, so it cannot be a hash.
    secret_sealed          bytea NOT NULL,
    -- After a rotation, the old secret signs beside the new one until previous_until.
    previous_secret_sealed bytea,
    previous_until         timestamptz,
    created_at             timestamptz NOT NULL,
    deleted_at             timestamptz
);
CREATE INDEX event_endpoints_clinic_idx ON event_endpoints (clinic_id, created_at) WHERE deleted_at IS NULL;

-- Every event published, once (its id comes from the appointment and the transition):
-- what makes PublishEvent idempotent, the body every delivery sends, and what orders
-- an appointment's deliveries.
CREATE TABLE events (
    id             uuid PRIMARY KEY,
    appointment_id uuid NOT NULL,
    sequence       integer NOT NULL,
    doctor_id      uuid NOT NULL,
    type           text NOT NULL,
    body           bytea NOT NULL,
    received_at    timestamptz NOT NULL,
    UNIQUE (appointment_id, sequence)
);
CREATE INDEX events_received_idx ON events (received_at);

CREATE TABLE event_deliveries (
    id              uuid PRIMARY KEY,
    endpoint_id     uuid NOT NULL REFERENCES event_endpoints (id),
    event_id        uuid NOT NULL REFERENCES events (id),
    appointment_id  uuid NOT NULL,
    sequence        integer NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    delivered_at    timestamptz,
    -- Retried until then (24 h after it was queued or replayed), then failed.
    retry_until     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX event_deliveries_endpoint_idx ON event_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX event_deliveries_order_idx ON event_deliveries (endpoint_id, appointment_id, sequence);
CREATE INDEX event_deliveries_event_idx ON event_deliveries (event_id);
CREATE INDEX event_deliveries_settled_idx ON event_deliveries (created_at) WHERE state <> 'pending';

-- +goose Down
DROP TABLE event_deliveries;
DROP TABLE events;
DROP TABLE event_endpoints;
