-- +goose Up
-- Facts identity vouches for in access tokens (claims dv, ev, amr).

-- A doctor's standing with the platform's CRM verification; NULL for patients and
-- admins. Doctors registered before verification existed start pending: an operator
-- checks every one before it is listed again.
ALTER TABLE accounts
    ADD COLUMN doctor_status text CHECK (doctor_status IN ('pending_verification', 'verified', 'rejected', 'suspended')),
    ADD COLUMN doctor_status_at timestamptz,
    -- When the owner confirmed the e-mail address from a link sent to it.
    ADD COLUMN email_verified_at timestamptz;
UPDATE accounts SET doctor_status = 'pending_verification', doctor_status_at = now() WHERE role = 'doctor';
ALTER TABLE accounts ADD CONSTRAINT accounts_doctor_has_status CHECK ((role = 'doctor') = (doctor_status IS NOT NULL));

-- How each session authenticated (RFC 8176 method names): 'pwd' at login, plus 'otp'
-- once a second factor is proved. Refreshes carry it over.
ALTER TABLE sessions ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}';

-- +goose Down
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE accounts DROP CONSTRAINT accounts_doctor_has_status;
ALTER TABLE accounts DROP COLUMN email_verified_at, DROP COLUMN doctor_status_at, DROP COLUMN doctor_status;
