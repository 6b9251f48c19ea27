package scheduling

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/pg"
)

// slotStore reads and writes the materialised slots. Whether a slot is held is read
// from appointments (a live appointment on it), never stored on the slot. A missing
// slot is pgx.ErrNoRows, wrapped.
type slotStore struct{}

// liveStates are the appointment states that hold a slot.
const liveStates = `('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED')`

// get reads a slot (without whether it is held).
func (slotStore) get(ctx context.Context, q pg.Querier, id string) (slotRow, error) {
	sr := slotRow{id: id}
	err := q.QueryRow(ctx, `SELECT doctor_id::text, start_at, end_at, status FROM slots WHERE id = $1`, id).
		Scan(&sr.doctorID, &sr.start, &sr.end, &sr.status)
	if err != nil {
		return sr, fmt.Errorf("get slot: %w", err)
	}
	return sr, nil
}

// statusForShare reads a slot's status and keeps it from changing until the
// transaction q ends: a booking waits for a doctor blocking the slot, and the other way
// round.
func (slotStore) statusForShare(ctx context.Context, q pg.Querier, id string) (string, error) {
	var status string
	if err := q.QueryRow(ctx, `SELECT status FROM slots WHERE id = $1 FOR SHARE`, id).Scan(&status); err != nil {
		return "", fmt.Errorf("read slot status: %w", err)
	}
	return status, nil
}

// getOwnedForUpdate reads one of a doctor's slots with whether it is held, locked until
// the transaction q ends. Another doctor's slot is pgx.ErrNoRows.
func (slotStore) getOwnedForUpdate(ctx context.Context, q pg.Querier, id, doctorID string) (slotRow, error) {
	sr := slotRow{doctorID: doctorID}
	err := q.QueryRow(ctx, `SELECT s.id::text, s.start_at, s.end_at, s.status,
			EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.state IN `+liveStates+`)
		FROM slots s WHERE s.id = $1 AND s.doctor_id = $2 FOR UPDATE`, id, doctorID).
		Scan(&sr.id, &sr.start, &sr.end, &sr.status, &sr.held)
	if err != nil {
		return sr, fmt.Errorf("get slot for update: %w", err)
	}
	return sr, nil
}

// setStatus sets a slot open or blocked.
func (slotStore) setStatus(ctx context.Context, q pg.Querier, id, status string) error {
	if _, err := q.Exec(ctx, `UPDATE slots SET status = $2 WHERE id = $1`, id, status); err != nil {
		return fmt.Errorf("set slot status: %w", err)
	}
	return nil
}

// listFreeSQL reads the suspension marker, then the open slots of a doctor ($1) in
// [$2, $3): from slots_open_doctor_start_idx alone (an index-only scan) and one probe
// of the live appointments' index a slot.
const listFreeSQL = `SELECT NULL::text, NULL::timestamptz, NULL::timestamptz FROM suspended_doctors WHERE doctor_id = $1
	UNION ALL
	(SELECT s.id::text, s.start_at, s.end_at FROM slots s
	WHERE s.doctor_id = $1 AND s.start_at >= $2 AND s.start_at < $3 AND s.status = 'open'
	  AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.state IN ` + liveStates + `)
	  AND NOT EXISTS (SELECT 1 FROM suspended_doctors WHERE doctor_id = $1)
	ORDER BY s.start_at)`

// listFree reads a doctor's open slots that no live appointment holds, starting in
// [from, to), earliest first — none, and suspended true, when the doctor is
// suspended. One statement, as the public listing is read far more than anything
// else here: the suspension is a marker row (no slot) ahead of the slots.
func (slotStore) listFree(ctx context.Context, q pg.Querier, doctorID string, from, to time.Time) (_ []slotRow, suspended bool, _ error) {
	rows, err := q.Query(ctx, listFreeSQL, doctorID, from, to)
	if err != nil {
		return nil, false, fmt.Errorf("list free slots: %w", err)
	}
	var slots []slotRow
	for rows.Next() {
		var id *string
		sr := slotRow{doctorID: doctorID, status: "open"}
		var start, end *time.Time
		if err := rows.Scan(&id, &start, &end); err != nil {
			rows.Close()
			return nil, false, fmt.Errorf("list free slots: %w", err)
		}
		if id == nil {
			suspended = true
			continue
		}
		sr.id, sr.start, sr.end = *id, *start, *end
		slots = append(slots, sr)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list free slots: %w", err)
	}
	if suspended {
		return nil, true, nil
	}
	return slots, false, nil
}

// listAgenda reads all of a doctor's slots starting in [from, to), earliest first,
// each with the live appointment holding it.
func (slotStore) listAgenda(ctx context.Context, q pg.Querier, doctorID string, from, to time.Time) ([]slotRow, error) {
	rows, err := q.Query(ctx, `SELECT s.id::text, s.start_at, s.end_at, s.status, a.id::text, a.patient_id::text, a.state
		FROM slots s LEFT JOIN appointments a ON a.slot_id = s.id AND a.state IN `+liveStates+`
		WHERE s.doctor_id = $1 AND s.start_at >= $2 AND s.start_at < $3 ORDER BY s.start_at`, doctorID, from, to)
	if err != nil {
		return nil, fmt.Errorf("list agenda: %w", err)
	}
	slots, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (slotRow, error) {
		sr := slotRow{doctorID: doctorID}
		var apptID, patient, state *string
		if err := row.Scan(&sr.id, &sr.start, &sr.end, &sr.status, &apptID, &patient, &state); err != nil {
			return sr, err
		}
		if apptID != nil {
			sr.held = true
			sr.appt = &schedulingv1.AppointmentSummary{Id: *apptID, PatientId: *patient, State: *state}
		}
		return sr, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list agenda: %w", err)
	}
	return slots, nil
}

// lockCurrent reads, earliest first, a doctor's slots that have not ended at now, with
// whether each is held, and locks them until the transaction q ends. A slot under way
// started less than maxSlot ago, which bounds the scan of the (doctor_id, start_at)
// index.
func (slotStore) lockCurrent(ctx context.Context, q pg.Querier, doctorID string, now time.Time) ([]slotRow, error) {
	rows, err := q.Query(ctx, `SELECT s.id::text, s.start_at, s.end_at, s.status,
			EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.state IN `+liveStates+`)
		FROM slots s WHERE s.doctor_id = $1 AND s.start_at > $3 AND s.end_at > $2 ORDER BY s.start_at FOR UPDATE OF s`,
		doctorID, now, now.Add(-maxSlot))
	if err != nil {
		return nil, fmt.Errorf("lock current slots: %w", err)
	}
	slots, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (slotRow, error) {
		sr := slotRow{doctorID: doctorID}
		return sr, row.Scan(&sr.id, &sr.start, &sr.end, &sr.status, &sr.held)
	})
	if err != nil {
		return nil, fmt.Errorf("lock current slots: %w", err)
	}
	return slots, nil
}

// delete removes slots by id and returns how many it removed.
func (slotStore) delete(ctx context.Context, q pg.Querier, ids []string) (int, error) {
	tag, err := q.Exec(ctx, `DELETE FROM slots WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return 0, fmt.Errorf("delete slots: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// insert adds open slots of a doctor, one per span, with new time-ordered ids, and
// returns how many it added.
func (slotStore) insert(ctx context.Context, q pg.Querier, doctorID string, spans []span) (int, error) {
	ids := make([]string, len(spans))
	starts, ends := make([]time.Time, len(spans)), make([]time.Time, len(spans))
	for i, sp := range spans {
		ids[i], starts[i], ends[i] = uuid.Must(uuid.NewV7()).String(), sp.start, sp.end
	}
	tag, err := q.Exec(ctx, `INSERT INTO slots (id, doctor_id, start_at, end_at)
		SELECT unnest($1::uuid[]), $2, unnest($3::timestamptz[]), unnest($4::timestamptz[])`,
		ids, doctorID, starts, ends)
	if err != nil {
		return 0, fmt.Errorf("insert slots: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
