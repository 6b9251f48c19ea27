-- +goose Up
-- One row per recipient per event: the idempotency key (derived from the event by the
-- emitting service) is unique, so a repeated Notify finds the first row and inserts no
-- second one, nor a second delivery job.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    event           smallint NOT NULL CHECK (event > 0),
    recipient_id    uuid NOT NULL,
    -- The NotifyRequest as received (protojson): rendered at delivery with the
    -- recipient's current contact, which is never stored here.
    request         jsonb NOT NULL,
    -- healthcore.notifications.v1.NotificationStatus.
    status          smallint NOT NULL CHECK (status BETWEEN 1 AND 4),
    subject         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    -- When delivery may run: created_at, or the end of the recipient's quiet hours.
    scheduled_at    timestamptz NOT NULL,
    sent_at         timestamptz,
    -- Held by the delivery job working on it, so two jobs of one notification (the
    -- first, and one a failed WhatsApp status queued for the e-mail fallback) never
    -- send at once; a job that dies loses it when it expires.
    lease_until     timestamptz
);
CREATE INDEX notifications_recipient_idx ON notifications (recipient_id, created_at DESC, id DESC);

-- One row per channel a notification goes by. status SENDING is written and committed
-- before the provider is called, the provider's message id after it answers: a
-- delivery found SENDING was interrupted between the two, and is sent again with the
-- same message key (see deliver.go for where that can still duplicate).
CREATE TABLE deliveries (
    notification_id     uuid NOT NULL REFERENCES notifications (id),
    -- healthcore.notifications.v1.Channel.
    channel             smallint NOT NULL CHECK (channel BETWEEN 1 AND 2),
    -- healthcore.notifications.v1.DeliveryStatus.
    status              smallint NOT NULL CHECK (status BETWEEN 1 AND 5),
    provider_message_id text,
    failure             text NOT NULL DEFAULT '',
    fallback            boolean NOT NULL DEFAULT false,
    attempts            integer NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (notification_id, channel)
);
-- Status webhooks name the provider's message id.
CREATE UNIQUE INDEX deliveries_provider_idx ON deliveries (channel, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Provider statuses that arrived before the message's provider id was recorded (the
-- provider may post "sent" or "failed" before the sending job commits the id): applied,
-- and deleted, when the id is recorded; those of ids never recorded are pruned after a day.
CREATE TABLE held_statuses (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel             smallint NOT NULL,
    provider_message_id text NOT NULL,
    status              smallint NOT NULL,
    failure             text NOT NULL DEFAULT '',
    at                  timestamptz NOT NULL
);
CREATE INDEX held_statuses_message_idx ON held_statuses (channel, provider_message_id);
CREATE INDEX held_statuses_at_idx ON held_statuses (at);

-- An account's choices; no row means the defaults (e-mail only, quiet 22:00-08:00).
CREATE TABLE preferences (
    account_id           uuid PRIMARY KEY,
    whatsapp             boolean NOT NULL DEFAULT false,
    read_digest          boolean NOT NULL DEFAULT false,
    -- Minutes after midnight in time_zone; equal means no quiet hours.
    quiet_start          smallint NOT NULL DEFAULT 1320 CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end            smallint NOT NULL DEFAULT 480 CHECK (quiet_end BETWEEN 0 AND 1439),
    time_zone            text NOT NULL DEFAULT '',
    consent_text_version text NOT NULL DEFAULT '',
    consent_source       text NOT NULL DEFAULT '',
    consent_at           timestamptz,
    updated_at           timestamptz NOT NULL
);

-- Every WhatsApp consent given or withdrawn (LGPD art. 8: the controller proves the
-- consent). Append-only.
CREATE TABLE consents (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   uuid NOT NULL,
    channel      smallint NOT NULL,
    granted      boolean NOT NULL,
    text_version text NOT NULL,
    source       text NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX consents_account_idx ON consents (account_id, at);

-- +goose StatementBegin
CREATE FUNCTION consents_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consents is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER consents_append_only BEFORE UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION consents_append_only();
CREATE TRIGGER consents_no_truncate BEFORE TRUNCATE ON consents
    FOR EACH STATEMENT EXECUTE FUNCTION consents_append_only();

-- +goose Down
DROP TABLE consents;
DROP FUNCTION consents_append_only();
DROP TABLE preferences;
DROP TABLE held_statuses;
DROP TABLE deliveries;
DROP TABLE notifications;
