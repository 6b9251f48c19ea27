-- +goose Up
-- One payment per appointment. Its status only moves forward (see settle.go): CREATING →
-- PENDING → PAID → PARTIALLY_REFUNDED → REFUNDED, or to FAILED when unpaid; a charge the
-- provider reports approved after we gave up on it goes FAILED → PAID (the money is
-- real, and the saga refunds it).
CREATE TABLE payments (
    id                      uuid PRIMARY KEY,
    appointment_id          uuid NOT NULL UNIQUE,
    patient_id              uuid NOT NULL,
    doctor_id               uuid NOT NULL,
    amount_cents            bigint NOT NULL CHECK (amount_cents > 0),
    description             text NOT NULL,
    status                  text NOT NULL CHECK (status IN ('CREATING', 'PENDING', 'PAID', 'FAILED',
                                                            'PARTIALLY_REFUNDED', 'REFUNDED')),
    -- The provider's payment id, once the charge exists.
    provider_payment_id     text UNIQUE,
    qr_code                 text NOT NULL DEFAULT '',
    qr_code_base64          text NOT NULL DEFAULT '',
    ticket_url              text NOT NULL DEFAULT '',
    expire_at               timestamptz NOT NULL,
    paid_at                 timestamptz,
    -- What the provider has given back (our completed refunds, or more when the provider
    -- reports refunds made elsewhere).
    refunded_cents          bigint NOT NULL DEFAULT 0 CHECK (refunded_cents BETWEEN 0 AND amount_cents),
    -- The sum of every refund requested here, completed or not: a refund is accepted only
    -- while this stays within the amount paid.
    refunds_requested_cents bigint NOT NULL DEFAULT 0 CHECK (refunds_requested_cents BETWEEN 0 AND amount_cents),
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    -- When the provider's view of the charge was last read; reconciliation re-reads
    -- pending charges not read for a while.
    last_checked_at         timestamptz NOT NULL,
    CHECK ((status IN ('CREATING', 'FAILED')) OR provider_payment_id IS NOT NULL),
    CHECK ((status IN ('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')) = (paid_at IS NOT NULL))
);
CREATE INDEX payments_pending_checked_idx ON payments (last_checked_at) WHERE status = 'PENDING';
CREATE INDEX payments_pending_expiry_idx ON payments (expire_at) WHERE status = 'PENDING';

-- Status history, append-only.
CREATE TABLE payment_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id uuid NOT NULL REFERENCES payments (id),
    status     text NOT NULL,
    -- What caused it: start, notification, reconciliation, cancel, refund.
    source     text NOT NULL,
    -- The provider's status detail at the time, or the refund's reason.
    detail     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL
);
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, id);

-- +goose StatementBegin
CREATE FUNCTION payment_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payment_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE ON payment_events
    FOR EACH ROW EXECUTE FUNCTION payment_events_append_only();
-- TRUNCATE skips row triggers; refuse it too.
CREATE TRIGGER payment_events_no_truncate BEFORE TRUNCATE ON payment_events
    FOR EACH STATEMENT EXECUTE FUNCTION payment_events_append_only();

-- Money given back. A refund is recorded REQUESTED with the job that asks the provider,
-- in one transaction; the job marks it COMPLETED. The same idempotency key never makes
-- a second refund.
CREATE TABLE refunds (
    id                 uuid PRIMARY KEY,
    payment_id         uuid NOT NULL REFERENCES payments (id),
    amount_cents       bigint NOT NULL CHECK (amount_cents > 0),
    reason             text NOT NULL CHECK (reason IN ('refused', 'cancelled', 'late_payment')),
    idempotency_key    text NOT NULL UNIQUE,
    status             text NOT NULL CHECK (status IN ('REQUESTED', 'COMPLETED')),
    provider_refund_id text,
    created_at         timestamptz NOT NULL,
    completed_at       timestamptz,
    CHECK ((status = 'COMPLETED') = (completed_at IS NOT NULL AND provider_refund_id IS NOT NULL))
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at);

-- +goose Down
DROP TABLE refunds;
DROP TABLE payment_events;
DROP FUNCTION payment_events_append_only;
DROP TABLE payments;
