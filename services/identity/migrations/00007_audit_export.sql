-- +goose Up
-- Where the export of the audit log to the log stream got to (identity.export_audit):
-- the id of the last row written out. One row, locked by each export.
CREATE TABLE audit_log_export (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_id  bigint  NOT NULL DEFAULT 0
);
INSERT INTO audit_log_export DEFAULT VALUES;

-- +goose Down
DROP TABLE audit_log_export;
