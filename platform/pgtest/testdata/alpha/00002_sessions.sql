-- +goose Up
CREATE TABLE sessions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sessions;
