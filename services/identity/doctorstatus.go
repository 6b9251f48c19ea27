package identity

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "healthcore/gen/healthcore/identity/v1"
)

// doctorStatuses maps the stored status to the API's.
var doctorStatuses = map[string]identityv1.DoctorStatus{
	doctorPending:   identityv1.DoctorStatus_DOCTOR_STATUS_PENDING_VERIFICATION,
	doctorVerified:  identityv1.DoctorStatus_DOCTOR_STATUS_VERIFIED,
	doctorRejected:  identityv1.DoctorStatus_DOCTOR_STATUS_REJECTED,
	doctorSuspended: identityv1.DoctorStatus_DOCTOR_STATUS_SUSPENDED,
}

// GetDoctorStatus implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetDoctorStatus(ctx context.Context, req *connect.Request[identityv1.GetDoctorStatusRequest]) (*connect.Response[identityv1.GetDoctorStatusResponse], error) {
	status, at, err := s.doctorStatus(ctx, req.Msg.GetDoctorId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.GetDoctorStatusResponse{Status: status, UpdateTime: timestamppb.New(at)}), nil
}

// doctorStatus returns the verification status of doctor id and when it last changed;
// ACCOUNT_NOT_FOUND when id names no doctor.
func (s *Service) doctorStatus(ctx context.Context, id string) (identityv1.DoctorStatus, time.Time, error) {
	a, err := s.doctor(ctx, id)
	if err != nil {
		return 0, time.Time{}, err
	}
	return doctorStatuses[a.DoctorStatus], a.DoctorStatusAt, nil
}
