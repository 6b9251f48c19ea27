-- +goose Up
-- search_changes tells each directory replica's in-memory search index which doctors'
-- search entries changed since it last looked: search_entries_refresh, which every
-- write to doctors or doctor_specialties goes through, stamps each doctor it rebuilds
-- with the writing transaction's id. A replica asks for the doctors stamped at or after
-- the oldest transaction still running when it last asked (its snapshot's xmin): every
-- transaction older than that had ended, and was seen, then. A deleted doctor keeps its
-- row here, so the replicas learn of the deletion.
CREATE TABLE search_changes (
    doctor_id uuid PRIMARY KEY,
    xid       xid8 NOT NULL
);
CREATE INDEX search_changes_xid_idx ON search_changes (xid);

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
    INSERT INTO search_changes (doctor_id, xid)
        SELECT DISTINCT id, pg_current_xact_id() FROM unnest(ids) AS id
        ON CONFLICT (doctor_id) DO UPDATE SET xid = EXCLUDED.xid;
$$;
-- +goose StatementEnd

CREATE TRIGGER doctors_search_delete AFTER DELETE ON doctors
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_entries_sync();

-- +goose Down
DROP TRIGGER doctors_search_delete ON doctors;
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
DROP TABLE search_changes;
