-- +goose Up
-- Patients and admins both log in by e-mail, so an address names at most one of them;
-- doctors (who log in by CRM) keep their own e-mail namespace.
DROP INDEX accounts_role_email_key;
CREATE UNIQUE INDEX accounts_login_email_key ON accounts (email) WHERE role IN ('patient', 'admin');
CREATE UNIQUE INDEX accounts_doctor_email_key ON accounts (email) WHERE role = 'doctor';

-- +goose Down
DROP INDEX accounts_doctor_email_key;
DROP INDEX accounts_login_email_key;
CREATE UNIQUE INDEX accounts_role_email_key ON accounts (role, email);
