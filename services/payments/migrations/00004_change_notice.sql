-- +goose Up
-- A payment's change is announced, in the transaction that makes it, on the channel
-- payments_changed with the appointment id as payload: GetPayment's long-poll waiters
-- (one LISTEN connection per process) wake on it instead of polling. A trigger, so no
-- writer can forget it; NOTIFY is delivered at commit, and not at all on rollback.
-- +goose StatementBegin
CREATE FUNCTION announce_payment_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('payments_changed', NEW.appointment_id::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER payment_recorded AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION announce_payment_change();

CREATE TRIGGER payment_changed AFTER UPDATE ON payments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.qr_code IS DISTINCT FROM NEW.qr_code
                       OR OLD.refunded_cents IS DISTINCT FROM NEW.refunded_cents)
    EXECUTE FUNCTION announce_payment_change();

-- +goose Down
DROP TRIGGER payment_changed ON payments;
DROP TRIGGER payment_recorded ON payments;
DROP FUNCTION announce_payment_change();
