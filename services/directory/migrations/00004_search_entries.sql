-- +goose Up
-- Search by specialty reads a copy of each listed doctor's sort and filter keys, one row
-- per specialty the doctor practises, so one index walk finds the doctors of a
-- specialty nearest-first (GiST on (specialty_code, earth), which needs btree_gist for
-- the text column; btree_gist is a trusted extension) or by rating or price (btree),
-- with the rating and price filters checked inside the index, instead of walking every
-- listed doctor's point and testing the specialty of each.
--
-- Triggers keep the copy: every write to doctors or doctor_specialties rebuilds the
-- rows of the doctors it touched, in the same transaction, from the source tables.
-- Every writer of a doctor changes the doctors row first (profile, verdict, review), so
-- writes of one doctor queue on that row's lock and each rebuild reads what the one
-- before it committed.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE search_entries (
    specialty_code text NOT NULL,
    doctor_id      uuid NOT NULL REFERENCES doctors (doctor_id) ON DELETE CASCADE,
    earth          cube, -- NULL without a location
    rating_avg     double precision NOT NULL,
    rating_count   integer NOT NULL,
    price_cents    bigint NOT NULL,
    PRIMARY KEY (doctor_id, specialty_code)
);
CREATE INDEX search_entries_earth_idx ON search_entries USING gist (specialty_code, earth, rating_avg, price_cents);
CREATE INDEX search_entries_rating_idx ON search_entries (specialty_code, rating_avg DESC, rating_count DESC, doctor_id DESC);
CREATE INDEX search_entries_price_idx ON search_entries (specialty_code, price_cents, doctor_id);

-- +goose StatementBegin
CREATE FUNCTION search_entries_refresh(ids uuid[]) RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$
    DELETE FROM search_entries WHERE doctor_id = ANY (ids);
    INSERT INTO search_entries (specialty_code, doctor_id, earth, rating_avg, rating_count, price_cents)
        SELECT s.specialty_code, d.doctor_id, d.earth, d.rating_avg, d.rating_count, d.price_cents
        FROM doctors d JOIN doctor_specialties s ON s.doctor_id = d.doctor_id
        WHERE d.doctor_id = ANY (ids) AND d.listed;
$$;
-- +goose StatementEnd

-- One function for every trigger: transition tables are named alike, and a trigger
-- with transition tables fires on one event only.
-- +goose StatementBegin
CREATE FUNCTION search_entries_sync() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM search_entries_refresh(ARRAY(SELECT DISTINCT doctor_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM search_entries_refresh(ARRAY(SELECT doctor_id FROM new_rows UNION SELECT doctor_id FROM old_rows));
    ELSE
        PERFORM search_entries_refresh(ARRAY(SELECT DISTINCT doctor_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER doctors_search_insert AFTER INSERT ON doctors
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_entries_sync();
CREATE TRIGGER doctors_search_update AFTER UPDATE ON doctors
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_entries_sync();
CREATE TRIGGER doctor_specialties_search_insert AFTER INSERT ON doctor_specialties
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_entries_sync();
CREATE TRIGGER doctor_specialties_search_update AFTER UPDATE ON doctor_specialties
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_entries_sync();
CREATE TRIGGER doctor_specialties_search_delete AFTER DELETE ON doctor_specialties
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_entries_sync();
-- A deleted doctor's rows go by the foreign key's cascade.

INSERT INTO search_entries (specialty_code, doctor_id, earth, rating_avg, rating_count, price_cents)
    SELECT s.specialty_code, d.doctor_id, d.earth, d.rating_avg, d.rating_count, d.price_cents
    FROM doctors d JOIN doctor_specialties s ON s.doctor_id = d.doctor_id
    WHERE d.listed;
ANALYZE search_entries;

-- +goose Down
DROP TRIGGER doctor_specialties_search_delete ON doctor_specialties;
DROP TRIGGER doctor_specialties_search_update ON doctor_specialties;
DROP TRIGGER doctor_specialties_search_insert ON doctor_specialties;
DROP TRIGGER doctors_search_update ON doctors;
DROP TRIGGER doctors_search_insert ON doctors;
DROP FUNCTION search_entries_sync();
DROP FUNCTION search_entries_refresh(uuid[]);
DROP TABLE search_entries;
-- btree_gist stays: scheduling's exclusion constraint may use it too.
