-- +goose Up
-- Payment records outlive an erased patient account: tax law keeps them five years
-- (CTN art. 173/174). The date until which a payment must be kept, set when its
-- patient's account is erased (HoldPatientPayments); NULL while the account lives.
ALTER TABLE payments ADD COLUMN retention_until timestamptz;

-- +goose Down
ALTER TABLE payments DROP COLUMN retention_until;
