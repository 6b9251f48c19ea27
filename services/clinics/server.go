package clinics

import (
	"context"

	"connectrpc.com/connect"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// CreateClinic implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) CreateClinic(ctx context.Context, req *connect.Request[clinicsv1.CreateClinicRequest]) (*connect.Response[clinicsv1.CreateClinicResponse], error) {
	c, err := s.createClinic(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.CreateClinicResponse{Clinic: c.proto()}), nil
}

// GetClinic implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) GetClinic(ctx context.Context, req *connect.Request[clinicsv1.GetClinicRequest]) (*connect.Response[clinicsv1.GetClinicResponse], error) {
	c, list, err := s.getClinic(ctx, req.Msg.GetClinicId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.GetClinicResponse{Clinic: c.proto(), Affiliations: affiliationsProto(list)}), nil
}

// InviteDoctor implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) InviteDoctor(ctx context.Context, req *connect.Request[clinicsv1.InviteDoctorRequest]) (*connect.Response[clinicsv1.InviteDoctorResponse], error) {
	a, err := s.invite(ctx, req.Msg.GetClinicId(), req.Msg.GetDoctorId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.InviteDoctorResponse{Affiliation: a.proto()}), nil
}

// ListMyAffiliations implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) ListMyAffiliations(ctx context.Context, _ *connect.Request[clinicsv1.ListMyAffiliationsRequest]) (*connect.Response[clinicsv1.ListMyAffiliationsResponse], error) {
	p, _ := authn.FromContext(ctx)
	list, err := s.clinics.ofDoctor(ctx, s.db, p.UserID)
	if err != nil {
		return nil, errs.Internal("clinics: list my affiliations", err)
	}
	return connect.NewResponse(&clinicsv1.ListMyAffiliationsResponse{Affiliations: affiliationsProto(list)}), nil
}

// AcceptAffiliation implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) AcceptAffiliation(ctx context.Context, req *connect.Request[clinicsv1.AcceptAffiliationRequest]) (*connect.Response[clinicsv1.AcceptAffiliationResponse], error) {
	a, err := s.answer(ctx, req.Msg.GetClinicId(), "accept", stateActive, stateInvited)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.AcceptAffiliationResponse{Affiliation: a.proto()}), nil
}

// DeclineAffiliation implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) DeclineAffiliation(ctx context.Context, req *connect.Request[clinicsv1.DeclineAffiliationRequest]) (*connect.Response[clinicsv1.DeclineAffiliationResponse], error) {
	a, err := s.answer(ctx, req.Msg.GetClinicId(), "decline", stateDeclined, stateInvited)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.DeclineAffiliationResponse{Affiliation: a.proto()}), nil
}

// EndAffiliation implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) EndAffiliation(ctx context.Context, req *connect.Request[clinicsv1.EndAffiliationRequest]) (*connect.Response[clinicsv1.EndAffiliationResponse], error) {
	a, err := s.answer(ctx, req.Msg.GetClinicId(), "end", stateEnded, stateActive)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.EndAffiliationResponse{Affiliation: a.proto()}), nil
}

// SetDelegation implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) SetDelegation(ctx context.Context, req *connect.Request[clinicsv1.SetDelegationRequest]) (*connect.Response[clinicsv1.SetDelegationResponse], error) {
	a, err := s.delegate(ctx, req.Msg.GetClinicId(), req.Msg.GetAnswersDelegated())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.SetDelegationResponse{Affiliation: a.proto()}), nil
}

// CheckAffiliation implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) CheckAffiliation(ctx context.Context, req *connect.Request[clinicsv1.CheckAffiliationRequest]) (*connect.Response[clinicsv1.CheckAffiliationResponse], error) {
	a, found, err := s.clinics.affiliation(ctx, s.db, req.Msg.GetClinicId(), req.Msg.GetDoctorId(), false)
	if err != nil {
		return nil, errs.Internal("clinics: check affiliation", err)
	}
	active := found && a.State == stateActive
	return connect.NewResponse(&clinicsv1.CheckAffiliationResponse{Affiliated: active, AnswersDelegated: active && a.Delegated}), nil
}

// CheckClinic implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) CheckClinic(ctx context.Context, req *connect.Request[clinicsv1.CheckClinicRequest]) (*connect.Response[clinicsv1.CheckClinicResponse], error) {
	c, ok, err := s.clinics.get(ctx, s.db, req.Msg.GetClinicId())
	if err != nil {
		return nil, errs.Internal("clinics: check clinic", err)
	}
	return connect.NewResponse(&clinicsv1.CheckClinicResponse{Exists: ok, Name: c.Name}), nil
}
