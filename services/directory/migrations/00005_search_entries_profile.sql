-- +goose Up
-- search_entries carries the whole profile a search answers with (everything
-- SearchDoctors returns per doctor, its specialties as "code:rqe" in the doctor's order)
-- besides the sort and filter keys, so a search by specialty is one index walk over
-- search_entries with no probe of doctors or doctor_specialties per result: those
-- probes were three quarters of the buffers such a search touched.
--
-- The same triggers keep the copy: search_entries_refresh rebuilds a doctor's rows
-- from the source tables on every write to doctors or doctor_specialties, so a new
-- name, bio, price, address, specialty, RQE or rating reaches the copy in the
-- transaction that writes it. Only listed doctors are copied, so there is no listed
-- column: a row here is listed.
TRUNCATE search_entries;
ALTER TABLE search_entries
    ADD COLUMN crm_number           text NOT NULL,
    ADD COLUMN crm_uf               text NOT NULL,
    ADD COLUMN display_name         text NOT NULL,
    ADD COLUMN photo_url            text NOT NULL,
    ADD COLUMN bio                  text NOT NULL,
    ADD COLUMN consultation_minutes integer NOT NULL,
    ADD COLUMN languages            text[] NOT NULL,
    ADD COLUMN address              text,
    ADD COLUMN city                 text,
    ADD COLUMN uf                   text,
    ADD COLUMN latitude             double precision,
    ADD COLUMN longitude            double precision,
    ADD COLUMN time_zone            text NOT NULL,
    ADD COLUMN updated_at           timestamptz NOT NULL,
    ADD COLUMN specialties          text[] NOT NULL; -- "code:rqe", in the doctor's order

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION search_entries_refresh(ids uuid[]) RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$
    DELETE FROM search_entries WHERE doctor_id = ANY (ids);
    INSERT INTO search_entries (specialty_code, doctor_id, earth, rating_avg, rating_count, price_cents,
            crm_number, crm_uf, display_name, photo_url, bio, consultation_minutes, languages,
            address, city, uf, latitude, longitude, time_zone, updated_at, specialties)
        SELECT s.specialty_code, d.doctor_id, d.earth, d.rating_avg, d.rating_count, d.price_cents,
            d.crm_number, d.crm_uf, d.display_name, d.photo_url, d.bio, d.consultation_minutes, d.languages,
            d.address, d.city, d.uf, d.latitude, d.longitude, d.time_zone, d.updated_at,
            ARRAY(SELECT x.specialty_code || ':' || x.rqe FROM doctor_specialties x
                  WHERE x.doctor_id = d.doctor_id ORDER BY x.position)
        FROM doctors d JOIN doctor_specialties s ON s.doctor_id = d.doctor_id
        WHERE d.doctor_id = ANY (ids) AND d.listed;
$$;
-- +goose StatementEnd

SELECT search_entries_refresh(ARRAY(SELECT doctor_id FROM doctors WHERE listed));
ANALYZE search_entries;

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION search_entries_refresh(ids uuid[]) RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$
    DELETE FROM search_entries WHERE doctor_id = ANY (ids);
    INSERT INTO search_entries (specialty_code, doctor_id, earth, rating_avg, rating_count, price_cents)
        SELECT s.specialty_code, d.doctor_id, d.earth, d.rating_avg, d.rating_count, d.price_cents
        FROM doctors d JOIN doctor_specialties s ON s.doctor_id = d.doctor_id
        WHERE d.doctor_id = ANY (ids) AND d.listed;
$$;
-- +goose StatementEnd
ALTER TABLE search_entries
    DROP COLUMN crm_number, DROP COLUMN crm_uf, DROP COLUMN display_name, DROP COLUMN photo_url, DROP COLUMN bio,
    DROP COLUMN consultation_minutes, DROP COLUMN languages, DROP COLUMN address, DROP COLUMN city, DROP COLUMN uf,
    DROP COLUMN latitude, DROP COLUMN longitude, DROP COLUMN time_zone, DROP COLUMN updated_at, DROP COLUMN specialties;
