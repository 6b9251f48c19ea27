package directory

import (
	"context"
	"errors"
	"html"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

var (
	errReviewAppointmentNotFound = errs.NotFound("APPOINTMENT_NOT_FOUND", "you have no appointment with this id")
	errNotCompleted              = errs.FailedPrecondition("APPOINTMENT_NOT_COMPLETED",
		"only a completed consultation can be reviewed")
	errAlreadyReviewed = errs.AlreadyExists("ALREADY_REVIEWED", "this appointment has already been reviewed")
	errSelfReview      = errs.PermissionDenied("SELF_REVIEW", "a doctor cannot review their own consultation")
)

// review records a patient's review of one of their completed appointments and updates
// the doctor's rating in the same transaction. Scheduling is asked over gRPC whose the
// appointment is and whether it is COMPLETED.
func (s *Service) review(ctx context.Context, r *directoryv1.ReviewAppointmentRequest) (*directoryv1.ReviewAppointmentResponse, error) {
	caller, _ := authn.FromContext(ctx)
	if s.scheduling == nil {
		return nil, errs.Unavailable("SCHEDULING_UNAVAILABLE", "reviews cannot be checked now; retry later", errors.New("no scheduling client"))
	}
	resp, err := s.scheduling.GetAppointment(ctx, connect.NewRequest(&schedulingv1.GetAppointmentRequest{Id: r.GetAppointmentId()}))
	switch {
	case connect.CodeOf(err) == connect.CodeNotFound:
		return nil, errReviewAppointmentNotFound
	case err != nil:
		return nil, errs.Unavailable("SCHEDULING_UNAVAILABLE", "the appointment cannot be checked now; retry", err)
	}
	a := resp.Msg.GetAppointment()
	switch {
	case a.GetDoctorId() == caller.UserID:
		return nil, errSelfReview
	case a.GetPatientId() != caller.UserID:
		return nil, errReviewAppointmentNotFound
	case a.GetState() != schedulingv1.AppointmentState_APPOINTMENT_STATE_COMPLETED:
		return nil, errNotCompleted
	}

	rv := &directoryv1.Review{
		Id: uuid.NewString(), DoctorId: a.GetDoctorId(), Stars: r.GetStars(), Comment: r.GetComment(),
		CommentHtml: html.EscapeString(r.GetComment()), CreateTime: timestamppb.New(s.now()),
	}
	out := &directoryv1.ReviewAppointmentResponse{Review: rv}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO reviews (id, appointment_id, doctor_id, patient_id, stars, comment, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, rv.Id, a.GetId(), rv.DoctorId, caller.UserID, rv.Stars, rv.Comment,
			rv.CreateTime.AsTime()); err != nil {
			return err
		}
		// One UPDATE: concurrent reviews of a doctor queue on the row lock, none is lost.
		return tx.QueryRow(ctx, `UPDATE doctors SET rating_sum = rating_sum + $2, rating_count = rating_count + 1
			WHERE doctor_id = $1 RETURNING rating_avg, rating_count`, rv.DoctorId, rv.Stars).
			Scan(&out.RatingAverage, &out.RatingCount)
	})
	switch {
	case pg.IsUniqueViolation(err):
		return nil, errAlreadyReviewed
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errDoctorNotFound
	case err != nil:
		return nil, errs.Internal("directory: review", err)
	}
	return out, nil
}

// reviews lists a doctor's reviews, newest first, by (created_at, id) keyset.
func (s *Service) reviews(ctx context.Context, doctorID string, size int, token string) ([]*directoryv1.Review, string, error) {
	filter := pagetoken.Filter("reviews", doctorID)
	c, err := pagetoken.Decode(token, filter, func(id string) bool { return uuid.Validate(id) == nil })
	if err != nil {
		return nil, "", err
	}
	var before *time.Time
	var beforeID *string
	if c != nil {
		before, beforeID = new(c.Time()), &c.ID
	}
	rows, err := s.db.Query(ctx, `SELECT id::text, stars, comment, created_at FROM reviews
		WHERE doctor_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $4`, doctorID, before, beforeID, size+1)
	if err != nil {
		return nil, "", errs.Internal("directory: reviews", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*directoryv1.Review, error) {
		rv := &directoryv1.Review{DoctorId: doctorID}
		var at time.Time
		if err := row.Scan(&rv.Id, &rv.Stars, &rv.Comment, &at); err != nil {
			return nil, err
		}
		rv.CommentHtml = html.EscapeString(rv.Comment)
		rv.CreateTime = timestamppb.New(at)
		return rv, nil
	})
	if err != nil {
		return nil, "", errs.Internal("directory: reviews", err)
	}
	next := ""
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		next = pagetoken.Encode(filter, last.CreateTime.AsTime(), last.Id)
	}
	return list, next, nil
}
