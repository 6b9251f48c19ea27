-- +goose Up
-- Job kinds are named "payments.<verb>" (see platform/jobs). River's tables are migrated
-- before these migrations (platform/pg.Migrate), so jobs queued under the former kinds
-- are renamed here and found by the workers of the new ones. Their unique_key keeps the
-- hash of the former kind: a duplicate of a renamed sync, cancellation or
-- reconciliation may therefore be queued once, which is harmless (each worker is
-- idempotent).
UPDATE river_job
SET kind = CASE kind WHEN 'reconcile_payments' THEN 'payments.reconcile' ELSE 'payments.' || kind END
WHERE kind IN ('sync_charge', 'notify_scheduling', 'refund', 'cancel_charge', 'reconcile_payments');

-- +goose Down
UPDATE river_job
SET kind = CASE kind WHEN 'payments.reconcile' THEN 'reconcile_payments' ELSE substr(kind, length('payments.') + 1) END
WHERE kind IN ('payments.sync_charge', 'payments.notify_scheduling', 'payments.refund', 'payments.cancel_charge',
               'payments.reconcile');
