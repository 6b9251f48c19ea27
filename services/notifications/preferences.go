package notifications

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// user returns the calling patient or doctor.
func user(ctx context.Context) (string, error) {
	p, ok := authn.FromContext(ctx)
	if !ok || p.UserID == "" {
		return "", ReasonNotAUser.New("only a patient or doctor has notification preferences")
	}
	switch authn.RoleName(p.Role) {
	case "patient", "doctor":
		return p.UserID, nil
	}
	return "", ReasonNotAUser.New("only a patient or doctor has notification preferences")
}

// getPreferences is GetPreferences.
func (s *Service) getPreferences(ctx context.Context) (*notificationsv1.Preferences, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.preferences.get(ctx, s.db, id, false)
	if err != nil {
		return nil, errs.Internal("notifications: get preferences", err)
	}
	return prefsProto(p), nil
}

// updatePreferences is UpdatePreferences. Turning WhatsApp on or off is logged in the
// consent table in the same transaction.
func (s *Service) updatePreferences(ctx context.Context, r *notificationsv1.UpdatePreferencesRequest) (*notificationsv1.Preferences, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	in := r.GetPreferences()
	paths := r.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, ReasonUpdateMaskInvalid.New("update_mask names no field")
	}
	for _, path := range paths {
		switch path {
		case "whatsapp", "read_digest", "quiet_start", "quiet_end", "time_zone":
		case "consent_text_version", "consent_source":
			// They go with "whatsapp".
		default:
			return nil, ReasonUpdateMaskInvalid.New("update_mask names a field that cannot be updated").
				WithViolations(errs.Violation{Field: "update_mask", Description: "may name whatsapp, read_digest, quiet_start, quiet_end and time_zone; got " + strconv.Quote(path) + " (e-mail is always on)"})
		}
	}
	if in.GetTimeZone() != "" {
		if _, err := time.LoadLocation(in.GetTimeZone()); err != nil || in.GetTimeZone() == "Local" {
			return nil, ReasonTimeZoneUnknown.New("time_zone is not an IANA time zone, e.g. America/Sao_Paulo").
				WithViolations(errs.Violation{Field: "preferences.time_zone", Description: "unknown time zone " + strconv.Quote(in.GetTimeZone())})
		}
	}
	now := s.now()
	var out prefs
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		p, err := s.preferences.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		for _, path := range paths {
			switch path {
			case "whatsapp":
				if err := s.setWhatsApp(ctx, tx, id, &p, in, now); err != nil {
					return err
				}
			case "read_digest":
				p.readDigest = in.GetReadDigest()
			case "quiet_start":
				p.quietStart = minutesOr(in.GetQuietStart(), defaultPrefs().quietStart)
			case "quiet_end":
				p.quietEnd = minutesOr(in.GetQuietEnd(), defaultPrefs().quietEnd)
			case "time_zone":
				p.timeZone = in.GetTimeZone()
			}
		}
		out = p
		return s.preferences.put(ctx, tx, id, p, now)
	})
	if errs.Has(err, ReasonConsentRequired) {
		return nil, err
	}
	if err != nil {
		return nil, errs.Internal("notifications: update preferences", err)
	}
	return prefsProto(out), nil
}

// setWhatsApp turns WhatsApp on (recording the consent: when, which text, from where)
// or off (recording the withdrawal).
func (s *Service) setWhatsApp(ctx context.Context, tx pgx.Tx, id string, p *prefs, in *notificationsv1.Preferences, now time.Time) error {
	switch {
	case in.GetWhatsapp() && !p.whatsapp:
		if in.GetConsentTextVersion() == "" || in.GetConsentSource() == "" {
			return ReasonConsentRequired.New("turning WhatsApp on needs the consent shown: consent_text_version and consent_source").
				WithViolations(errs.Violation{Field: "preferences.consent_text_version", Description: "the version of the consent text the user accepted"})
		}
		p.whatsapp, p.consentVersion, p.consentSource, p.consentAt = true, in.GetConsentTextVersion(), in.GetConsentSource(), &now
		return s.preferences.appendConsent(ctx, tx, id, notificationsv1.Channel_CHANNEL_WHATSAPP, true, p.consentVersion, p.consentSource, now)
	case !in.GetWhatsapp() && p.whatsapp:
		source := in.GetConsentSource()
		if source == "" {
			source = p.consentSource
		}
		if err := s.preferences.appendConsent(ctx, tx, id, notificationsv1.Channel_CHANNEL_WHATSAPP, false, p.consentVersion, source, now); err != nil {
			return err
		}
		p.whatsapp, p.consentVersion, p.consentSource, p.consentAt = false, "", "", nil
	}
	return nil
}

// minutesOr reads "HH:MM" (the proto's rule checked its form) as minutes after
// midnight; empty is def.
func minutesOr(hhmm string, def int) int {
	var h, m int
	if _, err := fmt.Sscanf(hhmm, "%d:%d", &h, &m); err != nil {
		return def
	}
	return h*60 + m
}

func prefsProto(p prefs) *notificationsv1.Preferences {
	out := &notificationsv1.Preferences{
		Email: true, Whatsapp: p.whatsapp, ReadDigest: p.readDigest,
		QuietStart: fmt.Sprintf("%02d:%02d", p.quietStart/60, p.quietStart%60),
		QuietEnd:   fmt.Sprintf("%02d:%02d", p.quietEnd/60, p.quietEnd%60),
		TimeZone:   p.timeZone, ConsentTextVersion: p.consentVersion, ConsentSource: p.consentSource,
	}
	if p.consentAt != nil {
		out.ConsentTime = timestamppb.New(*p.consentAt)
	}
	return out
}

// constantTimeEqual compares secrets without leaking their common prefix's length.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
