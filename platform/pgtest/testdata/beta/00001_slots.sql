-- +goose Up
CREATE TABLE slots (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    starts_at timestamptz NOT NULL UNIQUE
);

-- +goose Down
DROP TABLE slots;
