package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/authn"
	"healthcore/platform/br"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// defaultMinutes is a consultation's length when the doctor does not say.
const defaultMinutes = 50

var errDoctorNotFound = ReasonDoctorNotFound.New("no listed doctor has this id")

// upsertProfile replaces the calling doctor's profile. CRM and UF come from the access
// token, which identity signed from the doctor's account.
func (s *Service) upsertProfile(ctx context.Context, in *directoryv1.ProfileInput) (*directoryv1.Profile, []string, error) {
	p, _ := authn.FromContext(ctx)
	number, uf, err := br.ParseCRM(p.CRM)
	if err != nil {
		return nil, nil, ReasonCRMMissing.New("the access token carries no CRM (number/UF): log in again as a doctor")
	}
	if err := s.checkProfile(in); err != nil {
		return nil, nil, err
	}
	minutes := in.GetConsultationMinutes()
	if minutes == 0 {
		minutes = defaultMinutes
	}
	missing := missingOf(&directoryv1.Profile{
		Specialties: make([]*directoryv1.Specialty, len(in.GetSpecialties())), Price: &directoryv1.Money{AmountCents: in.GetPriceCents()},
		Location: in.GetLocation(), TimeZone: in.GetTimeZone(),
	})
	w := profileWrite{doctorID: p.UserID, crmNumber: number, crmUF: uf, in: in, minutes: minutes, complete: len(missing) == 0, at: s.now()}
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.doctors.lockDoctor(ctx, tx, p.UserID); err != nil {
			return err
		}
		if err := s.doctors.upsert(ctx, tx, w); err != nil {
			return err
		}
		return s.doctors.setSpecialties(ctx, tx, p.UserID, in.GetSpecialties())
	})
	if errs.Has(err, ReasonCRMTaken) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, errs.Internal("directory: store profile", err)
	}
	s.written(ctx)
	return s.draft(ctx, p.UserID)
}

// checkProfile applies the rules the proto cannot state: known specialty codes, each
// once, and a time zone the platform knows.
func (s *Service) checkProfile(in *directoryv1.ProfileInput) error {
	if err := checkPoint("profile.location.point", in.GetLocation().GetPoint()); err != nil {
		return err
	}
	var v []errs.Violation
	seen := map[string]bool{}
	for i, sp := range in.GetSpecialties() {
		field := fmt.Sprintf("profile.specialties[%d].code", i)
		switch {
		case s.specialties[sp.GetCode()] == "":
			v = append(v, errs.Violation{Field: field, Description: fmt.Sprintf("%q is not a specialty code (see ListSpecialties)", sp.GetCode())})
		case seen[sp.GetCode()]:
			v = append(v, errs.Violation{Field: field, Description: fmt.Sprintf("%q is listed twice", sp.GetCode())})
		}
		seen[sp.GetCode()] = true
	}
	if tz := in.GetTimeZone(); tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			v = append(v, errs.Violation{Field: "profile.time_zone", Description: fmt.Sprintf("%q is not an IANA time zone (e.g. America/Sao_Paulo)", tz)})
		}
	}
	if m := in.GetConsultationMinutes(); m != 0 && m < 10 {
		v = append(v, errs.Violation{Field: "profile.consultation_minutes", Description: "must be 0 (the default, 50) or 10 to 240"})
	}
	if len(v) == 0 {
		return nil
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.Field + ": " + x.Description
	}
	return ReasonProfileInvalid.New("invalid profile: " + strings.Join(parts, "; ")).WithViolations(v...)
}

// profile reads one profile with its specialties; listedOnly hides unlisted ones.
func (s *Service) profile(ctx context.Context, id string, listedOnly bool) (*directoryv1.Profile, error) {
	p, err := s.doctors.get(ctx, s.db, id, listedOnly)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errDoctorNotFound
	}
	if err != nil {
		return nil, errs.Internal("directory: read profile", err)
	}
	s.nameSpecialties(p)
	return p, nil
}

// nameSpecialties fills in the names of a profile's specialties, which the stores
// leave to the list loaded at start.
func (s *Service) nameSpecialties(p *directoryv1.Profile) {
	for _, sp := range p.GetSpecialties() {
		sp.Name = s.specialties[sp.GetCode()]
	}
}

// myProfile returns the caller's profile and what keeps it out of search.
func (s *Service) myProfile(ctx context.Context) (*directoryv1.Profile, []string, error) {
	p, _ := authn.FromContext(ctx)
	prof, missing, err := s.draft(ctx, p.UserID)
	if errs.Has(err, ReasonDoctorNotFound) {
		return nil, nil, ReasonProfileNotFound.New("you have no profile yet: create it with UpsertMyProfile")
	}
	return prof, missing, err
}

// draft reads a doctor's profile, listed or not, with what keeps it out of search:
// what the profile lacks (missingOf), and "verification" while identity does not hold
// the doctor verified.
func (s *Service) draft(ctx context.Context, id string) (*directoryv1.Profile, []string, error) {
	prof, err := s.profile(ctx, id, false)
	if err != nil {
		return nil, nil, err
	}
	missing := missingOf(prof)
	verified, err := s.doctors.verified(ctx, s.db, id)
	if err != nil {
		return nil, nil, errs.Internal("directory: read the doctor's verification", err)
	}
	if !verified {
		missing = append(missing, "verification")
	}
	return prof, missing, nil
}

// missingOf names what a profile lacks to appear in search.
func missingOf(p *directoryv1.Profile) []string {
	var missing []string
	if len(p.GetSpecialties()) == 0 {
		missing = append(missing, "specialties")
	}
	if p.GetPrice().GetAmountCents() == 0 {
		missing = append(missing, "price")
	}
	if p.GetLocation() == nil {
		missing = append(missing, "location")
	}
	if p.GetTimeZone() == "" {
		missing = append(missing, "time_zone")
	}
	return missing
}

// practiceSettings reads only what other services run a practice with. It is on the
// path of every agenda listing, so it is one indexed row, not a whole profile.
func (s *Service) practiceSettings(ctx context.Context, id string) (*directoryv1.GetPracticeSettingsResponse, error) {
	out, err := s.doctors.practiceSettings(ctx, s.db, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errDoctorNotFound
	}
	if err != nil {
		return nil, errs.Internal("directory: read practice settings", err)
	}
	return out, nil
}
