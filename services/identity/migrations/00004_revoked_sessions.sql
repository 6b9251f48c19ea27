-- +goose Up
-- Every service polls the sessions ended in the last access-token lifetime
-- (ListRevokedSessions) every few seconds: an index of ended sessions by end time keeps
-- that a short range scan however many sessions the table holds.
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP INDEX sessions_revoked_at_idx;
