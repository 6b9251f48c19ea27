package telehealth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// roomStore keeps the consultation rooms, one per appointment, with the video meeting
// behind each.
type roomStore struct{}

// room is one row of the rooms table.
type room struct {
	appointmentID, doctorID, patientID string
	start, end, created                time.Time
	meetingID                          *string
	generation                         int
	closed                             *time.Time
}

const roomColumns = `appointment_id::text, doctor_id::text, patient_id::text, start_at, end_at, created_at,
	provider_meeting_id, meeting_generation, closed_at`

func scanRoom(row pgx.Row) (room, error) {
	var r room
	err := row.Scan(&r.appointmentID, &r.doctorID, &r.patientID, &r.start, &r.end, &r.created,
		&r.meetingID, &r.generation, &r.closed)
	return r, err
}

// get reads the room of an appointment; none is pgx.ErrNoRows.
func (roomStore) get(ctx context.Context, q pg.Querier, appointmentID string) (room, error) {
	r, err := scanRoom(q.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms WHERE appointment_id = $1`, appointmentID))
	if err != nil {
		return room{}, fmt.Errorf("select room: %w", err)
	}
	return r, nil
}

// getForUpdate reads the room of an appointment and locks it until tx ends; none is
// pgx.ErrNoRows.
func (roomStore) getForUpdate(ctx context.Context, tx pgx.Tx, appointmentID string) (room, error) {
	r, err := scanRoom(tx.QueryRow(ctx, `SELECT `+roomColumns+` FROM rooms WHERE appointment_id = $1 FOR UPDATE`, appointmentID))
	if err != nil {
		return room{}, fmt.Errorf("select room for update: %w", err)
	}
	return r, nil
}

// insert stores a new room (its appointment, participants and window, created at r.created)
// and returns it as stored; inserted is false, and the room zero, when the
// appointment has one already.
func (roomStore) insert(ctx context.Context, q pg.Querier, r room) (stored room, inserted bool, err error) {
	stored, err = scanRoom(q.QueryRow(ctx, `INSERT INTO rooms (appointment_id, doctor_id, patient_id, start_at, end_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (appointment_id) DO NOTHING RETURNING `+roomColumns,
		r.appointmentID, r.doctorID, r.patientID, r.start, r.end, r.created))
	if errors.Is(err, pgx.ErrNoRows) {
		return room{}, false, nil
	}
	if err != nil {
		return room{}, false, fmt.Errorf("insert room: %w", err)
	}
	return stored, true, nil
}

// setMeeting records the room's current meeting, of the given generation, created at.
func (roomStore) setMeeting(ctx context.Context, q pg.Querier, appointmentID, meetingID string, generation int, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE rooms SET provider_meeting_id = $2, meeting_generation = $3, meeting_created_at = $4
		WHERE appointment_id = $1`, appointmentID, meetingID, generation, at); err != nil {
		return fmt.Errorf("update room meeting: %w", err)
	}
	return nil
}

// close records that the room's window closed at.
func (roomStore) close(ctx context.Context, q pg.Querier, appointmentID string, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE rooms SET closed_at = $2 WHERE appointment_id = $1`, appointmentID, at); err != nil {
		return fmt.Errorf("close room: %w", err)
	}
	return nil
}
