package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pg"
)

// reviewStore keeps patients' reviews, one per appointment, and the doctor's rating
// they add up to. A use case inserts a review and adds it to the rating in one
// transaction.
type reviewStore struct{}

// insert stores the patient's review of appointmentID. A second review of the same
// appointment is ReasonAlreadyReviewed.
func (reviewStore) insert(ctx context.Context, q pg.Querier, rv *directoryv1.Review, appointmentID, patientID string) error {
	_, err := q.Exec(ctx, `INSERT INTO reviews (id, appointment_id, doctor_id, patient_id, stars, comment, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, rv.GetId(), appointmentID, rv.GetDoctorId(), patientID, rv.GetStars(), rv.GetComment(),
		rv.GetCreateTime().AsTime())
	if pg.IsUniqueViolation(err) {
		return ReasonAlreadyReviewed.New("this appointment has already been reviewed").WithCause(err)
	}
	if err != nil {
		return fmt.Errorf("insert review: %w", err)
	}
	return nil
}

// rate adds one review of stars to the doctor's rating and returns the new average
// and count. No such doctor is pgx.ErrNoRows.
func (reviewStore) rate(ctx context.Context, q pg.Querier, doctorID string, stars int32) (avg float64, count int32, err error) {
	// One UPDATE: concurrent reviews of a doctor queue on the row lock, none is lost.
	err = q.QueryRow(ctx, `UPDATE doctors SET rating_sum = rating_sum + $2, rating_count = rating_count + 1
		WHERE doctor_id = $1 RETURNING rating_avg, rating_count`, doctorID, stars).Scan(&avg, &count)
	if err != nil {
		return 0, 0, fmt.Errorf("update doctor rating: %w", err)
	}
	return avg, count, nil
}

// listByDoctor returns up to limit of the doctor's reviews, newest first, after the
// review created at beforeTime with id beforeID (the first page when beforeID is "").
// Comment holds the text as written.
func (reviewStore) listByDoctor(ctx context.Context, q pg.Querier, doctorID string, beforeTime time.Time, beforeID string, limit int) ([]*directoryv1.Review, error) {
	var before *time.Time
	var id *string
	if beforeID != "" {
		before, id = &beforeTime, &beforeID
	}
	rows, err := q.Query(ctx, `SELECT id::text, stars, comment, created_at FROM reviews
		WHERE doctor_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $4`, doctorID, before, id, limit)
	if err != nil {
		return nil, fmt.Errorf("select reviews: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*directoryv1.Review, error) {
		rv := &directoryv1.Review{DoctorId: doctorID}
		var at time.Time
		if err := row.Scan(&rv.Id, &rv.Stars, &rv.Comment, &at); err != nil {
			return nil, err
		}
		rv.CreateTime = timestamppb.New(at)
		return rv, nil
	})
	if err != nil {
		return nil, fmt.Errorf("select reviews: %w", err)
	}
	return list, nil
}
