-- +goose Up
-- Great-circle distances: cube + earthdistance, with a GiST index on each doctor's
-- point. cube is a trusted extension; earthdistance is not, so in production the
-- migration runs as a role allowed to create it (rds_superuser on RDS) or a DBA
-- creates it in this schema beforehand.
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

-- The medical specialties recognised by the CFM (Resolução CFM nº 2.330/2023), with
-- stable codes: codes never change; names may be corrected.
CREATE TABLE specialties (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z_]{1,63}$'),
    name text NOT NULL UNIQUE
);
INSERT INTO specialties (code, name) VALUES
    ('acupuntura', 'Acupuntura'),
    ('alergia_imunologia', 'Alergia e Imunologia'),
    ('anestesiologia', 'Anestesiologia'),
    ('angiologia', 'Angiologia'),
    ('cardiologia', 'Cardiologia'),
    ('cirurgia_cardiovascular', 'Cirurgia Cardiovascular'),
    ('cirurgia_mao', 'Cirurgia da Mão'),
    ('cirurgia_cabeca_pescoco', 'Cirurgia de Cabeça e Pescoço'),
    ('cirurgia_aparelho_digestivo', 'Cirurgia do Aparelho Digestivo'),
    ('cirurgia_geral', 'Cirurgia Geral'),
    ('cirurgia_oncologica', 'Cirurgia Oncológica'),
    ('cirurgia_pediatrica', 'Cirurgia Pediátrica'),
    ('cirurgia_plastica', 'Cirurgia Plástica'),
    ('cirurgia_toracica', 'Cirurgia Torácica'),
    ('cirurgia_vascular', 'Cirurgia Vascular'),
    ('clinica_medica', 'Clínica Médica'),
    ('coloproctologia', 'Coloproctologia'),
    ('dermatologia', 'Dermatologia'),
    ('endocrinologia_metabologia', 'Endocrinologia e Metabologia'),
    ('endoscopia', 'Endoscopia'),
    ('gastroenterologia', 'Gastroenterologia'),
    ('genetica_medica', 'Genética Médica'),
    ('geriatria', 'Geriatria'),
    ('ginecologia_obstetricia', 'Ginecologia e Obstetrícia'),
    ('hematologia_hemoterapia', 'Hematologia e Hemoterapia'),
    ('homeopatia', 'Homeopatia'),
    ('infectologia', 'Infectologia'),
    ('mastologia', 'Mastologia'),
    ('medicina_emergencia', 'Medicina de Emergência'),
    ('medicina_familia_comunidade', 'Medicina de Família e Comunidade'),
    ('medicina_trabalho', 'Medicina do Trabalho'),
    ('medicina_trafego', 'Medicina de Tráfego'),
    ('medicina_esportiva', 'Medicina Esportiva'),
    ('medicina_fisica_reabilitacao', 'Medicina Física e Reabilitação'),
    ('medicina_intensiva', 'Medicina Intensiva'),
    ('medicina_legal_pericia', 'Medicina Legal e Perícia Médica'),
    ('medicina_nuclear', 'Medicina Nuclear'),
    ('medicina_preventiva_social', 'Medicina Preventiva e Social'),
    ('nefrologia', 'Nefrologia'),
    ('neurocirurgia', 'Neurocirurgia'),
    ('neurologia', 'Neurologia'),
    ('nutrologia', 'Nutrologia'),
    ('oftalmologia', 'Oftalmologia'),
    ('oncologia_clinica', 'Oncologia Clínica'),
    ('ortopedia_traumatologia', 'Ortopedia e Traumatologia'),
    ('otorrinolaringologia', 'Otorrinolaringologia'),
    ('patologia', 'Patologia'),
    ('patologia_clinica', 'Patologia Clínica/Medicina Laboratorial'),
    ('pediatria', 'Pediatria'),
    ('pneumologia', 'Pneumologia'),
    ('psiquiatria', 'Psiquiatria'),
    ('radiologia', 'Radiologia e Diagnóstico por Imagem'),
    ('radioterapia', 'Radioterapia'),
    ('reumatologia', 'Reumatologia'),
    ('urologia', 'Urologia');

CREATE TABLE doctors (
    doctor_id            uuid PRIMARY KEY, -- the identity account id
    crm_number           text NOT NULL,
    crm_uf               text NOT NULL,
    display_name         text NOT NULL,
    photo_url            text NOT NULL DEFAULT '',
    bio                  text NOT NULL DEFAULT '',
    price_cents          bigint NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    consultation_minutes integer NOT NULL DEFAULT 50 CHECK (consultation_minutes BETWEEN 10 AND 240),
    languages            text[] NOT NULL DEFAULT '{}',
    address              text,
    city                 text,
    uf                   text,
    latitude             double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude            double precision CHECK (longitude BETWEEN -180 AND 180),
    time_zone            text NOT NULL DEFAULT '',
    -- Kept by the review flow; the average is derived so it can be filtered and sorted.
    rating_sum           bigint NOT NULL DEFAULT 0,
    rating_count         integer NOT NULL DEFAULT 0,
    rating_avg           double precision GENERATED ALWAYS AS
                             (CASE WHEN rating_count = 0 THEN 0 ELSE rating_sum::double precision / rating_count END) STORED,
    -- The point as an earthdistance cube (NULL without a location).
    earth                cube GENERATED ALWAYS AS (ll_to_earth(latitude, longitude)) STORED,
    listed               boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (crm_number, crm_uf),
    CONSTRAINT doctors_location_whole CHECK (
        (address IS NULL) = (city IS NULL) AND (city IS NULL) = (uf IS NULL)
        AND (uf IS NULL) = (latitude IS NULL) AND (latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX doctors_listed_earth_idx ON doctors USING gist (earth) WHERE listed;
CREATE INDEX doctors_listed_rating_idx ON doctors (rating_avg DESC, rating_count DESC, doctor_id DESC) WHERE listed;
CREATE INDEX doctors_listed_price_idx ON doctors (price_cents, doctor_id) WHERE listed;

CREATE TABLE doctor_specialties (
    doctor_id      uuid NOT NULL REFERENCES doctors (doctor_id) ON DELETE CASCADE,
    specialty_code text NOT NULL REFERENCES specialties (code),
    rqe            text NOT NULL DEFAULT '',
    position       smallint NOT NULL,
    PRIMARY KEY (doctor_id, specialty_code)
);
CREATE INDEX doctor_specialties_code_idx ON doctor_specialties (specialty_code, doctor_id);

-- +goose Down
DROP TABLE doctor_specialties;
DROP TABLE doctors;
DROP TABLE specialties;
DROP EXTENSION earthdistance;
DROP EXTENSION cube;
