-- +goose Up
-- A profile is listed (in search, GetDoctor and its reviews) only when it is complete
-- — the doctor's part — and identity holds the doctor verified — identity's part, told
-- by SetDoctorListing. listed becomes derived from the two, so search's partial indexes
-- keep their predicate and the search query its filter. Existing profiles start
-- unlisted: every existing doctor is pending verification again.
DROP INDEX doctors_listed_earth_idx;
DROP INDEX doctors_listed_rating_idx;
DROP INDEX doctors_listed_price_idx;
ALTER TABLE doctors RENAME COLUMN listed TO complete;
ALTER TABLE doctors
    ADD COLUMN verified boolean NOT NULL DEFAULT false,
    ADD COLUMN listed   boolean GENERATED ALWAYS AS (complete AND verified) STORED;
CREATE INDEX doctors_listed_earth_idx ON doctors USING gist (earth) WHERE listed;
CREATE INDEX doctors_listed_rating_idx ON doctors (rating_avg DESC, rating_count DESC, doctor_id DESC) WHERE listed;
CREATE INDEX doctors_listed_price_idx ON doctors (price_cents, doctor_id) WHERE listed;

-- identity's latest verdict on each doctor, with the time identity changed the
-- doctor's status: an older verdict arriving later is ignored. Kept for doctors with
-- no profile yet, so a profile written after the verification starts listed.
CREATE TABLE listing_verdicts (
    doctor_id   uuid PRIMARY KEY, -- the identity account id
    listed      boolean NOT NULL,
    change_time timestamptz NOT NULL
);

-- +goose Down
DROP TABLE listing_verdicts;
DROP INDEX doctors_listed_earth_idx;
DROP INDEX doctors_listed_rating_idx;
DROP INDEX doctors_listed_price_idx;
ALTER TABLE doctors DROP COLUMN listed, DROP COLUMN verified;
ALTER TABLE doctors RENAME COLUMN complete TO listed;
CREATE INDEX doctors_listed_earth_idx ON doctors USING gist (earth) WHERE listed;
CREATE INDEX doctors_listed_rating_idx ON doctors (rating_avg DESC, rating_count DESC, doctor_id DESC) WHERE listed;
CREATE INDEX doctors_listed_price_idx ON doctors (price_cents, doctor_id) WHERE listed;
