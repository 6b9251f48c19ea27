package scheduling

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// affiliation is what the clinics service said of a (clinic, doctor) pair.
type affiliation struct {
	affiliated, delegated bool
}

var errNotAffiliated = ReasonNotAffiliated.New("this doctor is not affiliated with your clinic")

// affiliationOf asks the clinics service whether the doctor is affiliated with the
// clinic (and delegated answering to it). An affirmative answer is kept for
// DoctorCacheTTL, as the doctor's verification is: a doctor who ends the affiliation
// is refused to the clinic within those seconds. A negative one is never kept, so an
// acceptance counts at once. Without a clinics client every partner call is refused.
func (s *Service) affiliationOf(ctx context.Context, clinicID, doctorID string) (affiliation, error) {
	if a, ok := s.affiliations.get(clinicID+"/"+doctorID, s.now()); ok {
		return a, nil
	}
	return s.affiliationNow(ctx, clinicID, doctorID)
}

// affiliationNow asks the clinics service, whatever the cache holds, and keeps an
// affirmative answer. Answering for a doctor asks it: a doctor who revokes the
// delegation is obeyed at once.
func (s *Service) affiliationNow(ctx context.Context, clinicID, doctorID string) (affiliation, error) {
	key := clinicID + "/" + doctorID
	if s.clinics == nil {
		return affiliation{}, errNotAffiliated
	}
	resp, err := s.clinics.CheckAffiliation(ctx, connect.NewRequest(&clinicsv1.CheckAffiliationRequest{ClinicId: clinicID, DoctorId: doctorID}))
	if err != nil {
		return affiliation{}, ReasonClinicsUnavailable.New("cannot check the doctor's affiliation right now; retry").WithCause(err)
	}
	a := affiliation{affiliated: resp.Msg.GetAffiliated(), delegated: resp.Msg.GetAnswersDelegated()}
	if a.affiliated {
		s.affiliations.put(key, a, s.now())
	}
	return a, nil
}

// partnerDoctor admits the calling partner client to the doctor's data only when the
// doctor is affiliated with its clinic.
func (s *Service) partnerDoctor(ctx context.Context, doctorID string) error {
	p, _ := authn.FromContext(ctx)
	a, err := s.affiliationOf(ctx, p.ClinicID, doctorID)
	if err != nil {
		return err
	}
	if !a.affiliated {
		s.log.InfoContext(ctx, "partner refused: doctor not affiliated", slog.String("client_id", p.ClientID),
			slog.String("clinic_id", p.ClinicID), slog.String("doctor_id", doctorID))
		return errNotAffiliated
	}
	return nil
}

// doctorAvailabilityForPartner is a doctor's availability, for a clinic the doctor is
// affiliated with.
func (s *Service) doctorAvailabilityForPartner(ctx context.Context, req *schedulingv1.GetDoctorAvailabilityRequest) (*schedulingv1.GetDoctorAvailabilityResponse, error) {
	if err := s.partnerDoctor(ctx, req.GetDoctorId()); err != nil {
		return nil, err
	}
	out, err := s.getAvailability(ctx, req.GetDoctorId())
	if err != nil && errs.ReasonOf(err) == "" {
		return nil, errs.Internal("scheduling: partner availability", err)
	}
	if err != nil {
		return nil, err
	}
	return &schedulingv1.GetDoctorAvailabilityResponse{Availability: out.GetAvailability(), TimeZone: out.GetTimeZone()}, nil
}

var errPartnerDoctorNotVerified = ReasonDoctorNotVerified.New(
	"the doctor's CRM is not verified: an operator must verify it before the doctor's agenda opens")

// setDoctorAvailabilityForPartner replaces the availability of a doctor affiliated
// with the calling clinic, whom identity holds verified (the clinic's token says
// nothing of the doctor).
func (s *Service) setDoctorAvailabilityForPartner(ctx context.Context, req *schedulingv1.SetDoctorAvailabilityRequest) (*schedulingv1.SetDoctorAvailabilityResponse, error) {
	if err := s.partnerDoctor(ctx, req.GetDoctorId()); err != nil {
		return nil, err
	}
	if err := s.checkVerified(ctx, req.GetDoctorId()); errs.Has(err, ReasonDoctorNotVerified) {
		return nil, errPartnerDoctorNotVerified
	} else if err != nil {
		return nil, err
	}
	out, err := s.replaceAvailability(ctx, req.GetDoctorId(), req.GetAvailability(), errPartnerDoctorNotVerified)
	if err != nil {
		return nil, err
	}
	return &schedulingv1.SetDoctorAvailabilityResponse{Availability: out.GetAvailability(), TimeZone: out.GetTimeZone(),
		SlotsCreated: out.GetSlotsCreated(), SlotsRemoved: out.GetSlotsRemoved(), Conflicts: out.GetConflicts()}, nil
}
