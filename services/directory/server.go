package directory

import (
	"context"

	"connectrpc.com/connect"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// UpsertMyProfile implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) UpsertMyProfile(ctx context.Context, req *connect.Request[directoryv1.UpsertMyProfileRequest]) (*connect.Response[directoryv1.UpsertMyProfileResponse], error) {
	p, missing, err := s.upsertProfile(ctx, req.Msg.GetProfile())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&directoryv1.UpsertMyProfileResponse{Profile: p, Missing: missing}), nil
}

// GetMyProfile implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) GetMyProfile(ctx context.Context, _ *connect.Request[directoryv1.GetMyProfileRequest]) (*connect.Response[directoryv1.GetMyProfileResponse], error) {
	p, missing, err := s.myProfile(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&directoryv1.GetMyProfileResponse{Profile: p, Missing: missing}), nil
}

// GetDoctor implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) GetDoctor(ctx context.Context, req *connect.Request[directoryv1.GetDoctorRequest]) (*connect.Response[directoryv1.GetDoctorResponse], error) {
	p, err := s.profile(ctx, req.Msg.GetDoctorId(), true)
	if err != nil {
		return nil, err
	}
	latest, _, err := s.listReviews(ctx, p.GetDoctorId(), 5, "")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&directoryv1.GetDoctorResponse{Profile: p, LatestReviews: latest}), nil
}

// SearchDoctors implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) SearchDoctors(ctx context.Context, req *connect.Request[directoryv1.SearchDoctorsRequest]) (*connect.Response[directoryv1.SearchDoctorsResponse], error) {
	out, err := s.searchDoctors(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ListSpecialties implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) ListSpecialties(context.Context, *connect.Request[directoryv1.ListSpecialtiesRequest]) (*connect.Response[directoryv1.ListSpecialtiesResponse], error) {
	return connect.NewResponse(&directoryv1.ListSpecialtiesResponse{Specialties: s.specialtyList()}), nil
}

// GetPracticeSettings implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) GetPracticeSettings(ctx context.Context, req *connect.Request[directoryv1.GetPracticeSettingsRequest]) (*connect.Response[directoryv1.GetPracticeSettingsResponse], error) {
	out, err := s.practiceSettings(ctx, req.Msg.GetDoctorId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ReviewAppointment implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) ReviewAppointment(ctx context.Context, req *connect.Request[directoryv1.ReviewAppointmentRequest]) (*connect.Response[directoryv1.ReviewAppointmentResponse], error) {
	out, err := s.review(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ListDoctorReviews implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) ListDoctorReviews(ctx context.Context, req *connect.Request[directoryv1.ListDoctorReviewsRequest]) (*connect.Response[directoryv1.ListDoctorReviewsResponse], error) {
	if _, err := s.profile(ctx, req.Msg.GetDoctorId(), true); err != nil {
		return nil, err
	}
	size := int(req.Msg.GetPageSize())
	if size == 0 {
		size = 20
	}
	list, next, err := s.listReviews(ctx, req.Msg.GetDoctorId(), size, req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&directoryv1.ListDoctorReviewsResponse{Reviews: list, NextPageToken: next}), nil
}

// SetDoctorListing implements directoryv1connect.DirectoryServiceHandler.
func (s *Service) SetDoctorListing(ctx context.Context, req *connect.Request[directoryv1.SetDoctorListingRequest]) (*connect.Response[directoryv1.SetDoctorListingResponse], error) {
	m := req.Msg
	if _, err := s.setListing(ctx, m.GetDoctorId(), m.GetListed(), m.GetChangeTime().AsTime()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&directoryv1.SetDoctorListingResponse{}), nil
}
