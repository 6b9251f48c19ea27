-- +goose Up
-- A partner clinic answers (accepts, refuses) appointments on behalf of a doctor who
-- delegated that to it: the history names the clinic (actor_id, actor_role 'clinic')
-- and the clinic's OAuth client that made the call.
ALTER TABLE appointment_history ADD COLUMN actor_client_id uuid;
ALTER TABLE appointment_history DROP CONSTRAINT appointment_history_actor_role_check;
ALTER TABLE appointment_history ADD CONSTRAINT appointment_history_actor_role_check
    CHECK (actor_role IN ('patient', 'doctor', 'system', 'operator', 'clinic'));

-- The append-only rule covers the new column too.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION appointment_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.reason <> '' AND NEW.reason = '' AND OLD.reason_sealed IS NULL AND NEW.reason_sealed IS NOT NULL
           AND (NEW.id, NEW.appointment_id, NEW.kind, NEW.from_state, NEW.to_state, NEW.actor_id, NEW.actor_role, NEW.at,
                NEW.actor_client_id)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.appointment_id, OLD.kind, OLD.from_state, OLD.to_state, OLD.actor_id, OLD.actor_role, OLD.at,
                OLD.actor_client_id) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'appointment_history is append-only';
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION appointment_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.reason <> '' AND NEW.reason = '' AND OLD.reason_sealed IS NULL AND NEW.reason_sealed IS NOT NULL
           AND (NEW.id, NEW.appointment_id, NEW.kind, NEW.from_state, NEW.to_state, NEW.actor_id, NEW.actor_role, NEW.at)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.appointment_id, OLD.kind, OLD.from_state, OLD.to_state, OLD.actor_id, OLD.actor_role, OLD.at) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'appointment_history is append-only';
END
$$;
-- +goose StatementEnd
ALTER TABLE appointment_history DROP CONSTRAINT appointment_history_actor_role_check;
ALTER TABLE appointment_history ADD CONSTRAINT appointment_history_actor_role_check
    CHECK (actor_role IN ('patient', 'doctor', 'system', 'operator'));
ALTER TABLE appointment_history DROP COLUMN actor_client_id;
