-- +goose Up
-- The clients an account logged in from: its devices (a keyed hash of the device token
-- a login returned) and its client addresses (a keyed hash of the address block). A
-- known client is throttled on its own, so other clients' failures never lock it out.
CREATE TABLE login_clients (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client     text NOT NULL,
    seen_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, client)
);

-- Fixed-window counters of requests per key (registrations per client address).
CREATE TABLE rate_windows (
    key          text PRIMARY KEY,
    count        integer NOT NULL,
    window_start timestamptz NOT NULL
);

-- +goose Down
DROP TABLE rate_windows;
DROP TABLE login_clients;
