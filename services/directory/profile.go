package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// defaultMinutes is a consultation's length when the doctor does not say.
const defaultMinutes = 50

var errDoctorNotFound = errs.NotFound("DOCTOR_NOT_FOUND", "no listed doctor has this id")

// upsertProfile replaces the calling doctor's profile. CRM and UF come from the access
// token, which identity signed from the doctor's account.
func (s *Service) upsertProfile(ctx context.Context, in *directoryv1.ProfileInput) (*directoryv1.Profile, []string, error) {
	p, _ := authn.FromContext(ctx)
	number, uf, ok := strings.Cut(p.CRM, "/")
	if !ok {
		return nil, nil, errs.PermissionDenied("CRM_MISSING", "the access token carries no CRM: log in again as a doctor")
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
	// pgx sends a nil slice as NULL, which the NOT NULL column refuses: a doctor who
	// lists no language has an empty list.
	languages := in.GetLanguages()
	if languages == nil {
		languages = []string{}
	}
	var addr, city, locUF *string
	var lat, lng *float64
	if l := in.GetLocation(); l != nil {
		addr, city, locUF = &l.Address, &l.City, &l.Uf
		la, lo := l.GetPoint().GetLatitude(), l.GetPoint().GetLongitude()
		lat, lng = &la, &lo
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO doctors AS d (doctor_id, crm_number, crm_uf, display_name, photo_url, bio, price_cents,
				consultation_minutes, languages, address, city, uf, latitude, longitude, time_zone, listed, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (doctor_id) DO UPDATE SET crm_number = $2, crm_uf = $3, display_name = $4, photo_url = $5, bio = $6,
				price_cents = $7, consultation_minutes = $8, languages = $9, address = $10, city = $11, uf = $12,
				latitude = $13, longitude = $14, time_zone = $15, listed = $16, updated_at = $17`,
			p.UserID, number, uf, in.GetDisplayName(), in.GetPhotoUrl(), in.GetBio(), in.GetPriceCents(), minutes,
			languages, addr, city, locUF, lat, lng, in.GetTimeZone(), len(missing) == 0, s.now())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM doctor_specialties WHERE doctor_id = $1`, p.UserID); err != nil {
			return err
		}
		for i, sp := range in.GetSpecialties() {
			if _, err := tx.Exec(ctx, `INSERT INTO doctor_specialties (doctor_id, specialty_code, rqe, position) VALUES ($1, $2, $3, $4)`,
				p.UserID, sp.GetCode(), sp.GetRqe(), i); err != nil {
				return err
			}
		}
		return nil
	})
	if pg.IsUniqueViolation(err) {
		return nil, nil, errs.AlreadyExists("CRM_TAKEN", "another profile holds this CRM").WithCause(err)
	}
	if err != nil {
		return nil, nil, errs.Internal("directory: upsertProfile", err)
	}
	prof, err := s.profile(ctx, p.UserID, false)
	return prof, missing, err
}

// checkProfile applies the rules the proto cannot state: known specialty codes, each
// once, and a time zone the platform knows.
func (s *Service) checkProfile(in *directoryv1.ProfileInput) error {
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
	return errs.InvalidArgument("PROFILE_INVALID", "invalid profile: "+strings.Join(parts, "; "), v...)
}

// profileColumns are read by scanProfile, in order.
const profileColumns = `d.doctor_id::text, d.crm_number, d.crm_uf, d.display_name, d.photo_url, d.bio, d.price_cents,
	d.consultation_minutes, d.languages, d.address, d.city, d.uf, d.latitude, d.longitude, d.time_zone,
	d.rating_avg, d.rating_count, d.listed, d.updated_at`

func scanProfile(row pgx.Row, extra ...any) (*directoryv1.Profile, error) {
	var p directoryv1.Profile
	var price int64
	var addr, city, uf *string
	var lat, lng *float64
	var updated time.Time
	dest := append([]any{&p.DoctorId, &p.CrmNumber, &p.CrmUf, &p.DisplayName, &p.PhotoUrl, &p.Bio, &price,
		&p.ConsultationMinutes, &p.Languages, &addr, &city, &uf, &lat, &lng, &p.TimeZone,
		&p.RatingAverage, &p.RatingCount, &p.Listed, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	p.Price = &directoryv1.Money{AmountCents: price, Currency: "BRL"}
	p.UpdateTime = timestamppb.New(updated)
	if addr != nil {
		p.Location = &directoryv1.Location{Address: *addr, City: *city, Uf: *uf,
			Point: &directoryv1.LatLng{Latitude: *lat, Longitude: *lng}}
	}
	return &p, nil
}

// profile reads one profile with its specialties; listedOnly hides unlisted ones.
func (s *Service) profile(ctx context.Context, id string, listedOnly bool) (*directoryv1.Profile, error) {
	p, err := scanProfile(s.db.QueryRow(ctx, `SELECT `+profileColumns+` FROM doctors d WHERE d.doctor_id = $1 AND (d.listed OR NOT $2)`, id, listedOnly))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errDoctorNotFound
	}
	if err != nil {
		return nil, errs.Internal("directory: profile", err)
	}
	if err := s.attachSpecialties(ctx, []*directoryv1.Profile{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// attachSpecialties fills the specialties of profiles in one query.
func (s *Service) attachSpecialties(ctx context.Context, profiles []*directoryv1.Profile) error {
	if len(profiles) == 0 {
		return nil
	}
	byID := make(map[string]*directoryv1.Profile, len(profiles))
	ids := make([]string, len(profiles))
	for i, p := range profiles {
		byID[p.DoctorId], ids[i] = p, p.DoctorId
	}
	rows, err := s.db.Query(ctx, `SELECT doctor_id::text, specialty_code, rqe FROM doctor_specialties
		WHERE doctor_id = ANY($1::uuid[]) ORDER BY doctor_id, position`, ids)
	if err != nil {
		return errs.Internal("directory: attachSpecialties", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, code, rqe string
		if err := rows.Scan(&id, &code, &rqe); err != nil {
			return errs.Internal("directory: attachSpecialties", err)
		}
		byID[id].Specialties = append(byID[id].Specialties, &directoryv1.Specialty{Code: code, Name: s.specialties[code], Rqe: rqe})
	}
	if err := rows.Err(); err != nil {
		return errs.Internal("directory: attachSpecialties", err)
	}
	return nil
}

// myProfile returns the caller's profile and what keeps it out of search.
func (s *Service) myProfile(ctx context.Context) (*directoryv1.Profile, []string, error) {
	p, _ := authn.FromContext(ctx)
	prof, err := s.profile(ctx, p.UserID, false)
	if err != nil {
		if errs.ReasonOf(err) == "DOCTOR_NOT_FOUND" {
			return nil, nil, errs.NotFound("PROFILE_NOT_FOUND", "you have no profile yet: create it with UpsertMyProfile")
		}
		return nil, nil, err
	}
	return prof, missingOf(prof), nil
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
	out := &directoryv1.GetPracticeSettingsResponse{Price: &directoryv1.Money{Currency: "BRL"}}
	err := s.db.QueryRow(ctx, `SELECT time_zone, price_cents, consultation_minutes, listed FROM doctors WHERE doctor_id = $1`, id).
		Scan(&out.TimeZone, &out.Price.AmountCents, &out.ConsultationMinutes, &out.Listed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errDoctorNotFound
	}
	if err != nil {
		return nil, errs.Internal("directory: practiceSettings", err)
	}
	return out, nil
}
