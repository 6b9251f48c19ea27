-- +goose Up
-- Where the export of the access log to the log stream got to (records.export_access_log):
-- the id of the last row written out. One row, locked by each export.
CREATE TABLE access_log_export (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_id  bigint  NOT NULL DEFAULT 0
);
INSERT INTO access_log_export DEFAULT VALUES;

-- +goose Down
DROP TABLE access_log_export;
