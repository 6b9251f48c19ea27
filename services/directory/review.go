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
	errReviewAppointmentNotFound = ReasonAppointmentNotFound.New("you have no appointment with this id")
	errNotCompleted              = ReasonAppointmentNotCompleted.New("only a completed consultation can be reviewed")
	errSelfReview                = ReasonSelfReview.New("a doctor cannot review their own consultation")
)

// review records a patient's review of one of their completed appointments and updates
// the doctor's rating in the same transaction. Scheduling is asked over gRPC whose the
// appointment is and whether it is COMPLETED.
func (s *Service) review(ctx context.Context, r *directoryv1.ReviewAppointmentRequest) (*directoryv1.ReviewAppointmentResponse, error) {
	caller, _ := authn.FromContext(ctx)
	if s.scheduling == nil {
		return nil, ReasonSchedulingUnavailable.New("reviews cannot be checked now; retry later").WithCause(errors.New("no scheduling client"))
	}
	resp, err := s.scheduling.GetAppointment(ctx, connect.NewRequest(&schedulingv1.GetAppointmentRequest{Id: r.GetAppointmentId()}))
	switch {
	case errs.Has(err, ReasonAppointmentNotFound):
		return nil, errReviewAppointmentNotFound
	case err != nil:
		return nil, ReasonSchedulingUnavailable.New("the appointment cannot be checked now; retry").WithCause(err)
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
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.reviews.insert(ctx, tx, rv, a.GetId(), caller.UserID); err != nil {
			return err
		}
		var err error
		out.RatingAverage, out.RatingCount, err = s.reviews.rate(ctx, tx, rv.DoctorId, rv.Stars)
		return err
	})
	switch {
	case errs.Has(err, ReasonAlreadyReviewed):
		return nil, err
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errDoctorNotFound
	case err != nil:
		return nil, errs.Internal("directory: store review", err)
	}
	s.written(ctx)
	return out, nil
}

// listReviews lists a doctor's reviews, newest first, by (created_at, id) keyset.
func (s *Service) listReviews(ctx context.Context, doctorID string, size int, token string) ([]*directoryv1.Review, string, error) {
	filter := pagetoken.Filter("reviews", doctorID)
	c, err := pagetoken.Decode(token, filter, func(id string) bool { return uuid.Validate(id) == nil })
	if err != nil {
		return nil, "", err
	}
	var before time.Time
	var beforeID string
	if c != nil {
		before, beforeID = c.Time(), c.ID
	}
	list, err := s.reviews.listByDoctor(ctx, s.db, doctorID, before, beforeID, size+1)
	if err != nil {
		return nil, "", errs.Internal("directory: list reviews", err)
	}
	for _, rv := range list {
		rv.CommentHtml = html.EscapeString(rv.Comment)
	}
	next := ""
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		next = pagetoken.Encode(filter, last.CreateTime.AsTime(), last.Id)
	}
	return list, next, nil
}
