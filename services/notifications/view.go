package notifications

import (
	"context"
	"net/url"
	"strings"
	"time"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/errs"
)

// The app's pages that messages link to (the web app served at the gateway's root).
const (
	appointmentPage = "/app/appointments/"
	sharedWithMe    = "/app/shared-with-me"
	accessLogPage   = "/app/records/access-log"
	securityPage    = "/app/account/security"
	verifyEmailPage = "/app/verify-email?token="
	resetPage       = "/app/reset-password?token="
	// verificationPage shows a doctor the CRM verification's status and reason.
	verificationPage = "/app/account/verification"
)

// view builds what the template shows, in loc: the names come from identity now, not
// from the event.
func (s *Service) view(ctx context.Context, r *notificationsv1.NotifyRequest, c *identityv1.GetContactResponse, loc *time.Location) (view, error) {
	base := strings.TrimSuffix(s.cfg.AppBaseURL, "/")
	v := view{FirstName: c.GetFirstName()}
	if v.FirstName == "" {
		v.FirstName = "olá"
	}
	if loc != saoPaulo {
		v.TimeZone = loc.String()
	}
	at := func(ts interface{ AsTime() time.Time }, set bool) string {
		if !set {
			return ""
		}
		return formatTime(ts.AsTime(), loc)
	}
	switch d := r.GetDetail().(type) {
	case *notificationsv1.NotifyRequest_Appointment:
		a := d.Appointment
		v.Start = at(a.GetStartTime(), a.GetStartTime() != nil)
		v.AnswerBy = at(a.GetAnswerBy(), a.GetAnswerBy() != nil)
		v.PixExpire = at(a.GetPixExpireTime(), a.GetPixExpireTime() != nil)
		v.PixCode = a.GetPixCopyPaste()
		v.Price = formatMoney(a.GetPriceCents())
		v.Refund = formatMoney(a.GetRefundCents())
		v.RefundMethod = a.GetRefundMethod()
		if v.RefundMethod == "" {
			v.RefundMethod = "PIX"
		}
		v.Link = base + appointmentPage + a.GetAppointmentId()
		v.JoinLink = v.Link
		if a.GetJoinPath() != "" {
			v.JoinLink = base + a.GetJoinPath()
		}
		// The doctor hears the patient's first name; the patient the doctor's full name
		// ("Dra. Ana Souza"). The justification is the doctor's only.
		if r.GetRecipientId() == a.GetDoctorId() {
			other, err := s.contactName(ctx, a.GetPatientId(), false)
			if err != nil {
				return view{}, err
			}
			v.Other, v.Justification = other, a.GetJustification()
		} else {
			other, err := s.contactName(ctx, a.GetDoctorId(), true)
			if err != nil {
				return view{}, err
			}
			v.Other = other
		}
	case *notificationsv1.NotifyRequest_Share:
		other, err := s.contactName(ctx, d.Share.GetPatientId(), true)
		if err != nil {
			return view{}, err
		}
		v.Other, v.ShareEnd, v.Link = other, at(d.Share.GetEndTime(), d.Share.GetEndTime() != nil), base+sharedWithMe
	case *notificationsv1.NotifyRequest_Security:
		v.When = at(d.Security.GetTime(), true)
		v.Address, v.Device, v.Link = d.Security.GetClientAddress(), d.Security.GetDevice(), base+securityPage
		if v.Device == "" {
			v.Device = "dispositivo não identificado"
		}
	case *notificationsv1.NotifyRequest_Link:
		page := verifyEmailPage
		if r.GetEvent() == notificationsv1.Event_EVENT_PASSWORD_RESET {
			page = resetPage
		}
		v.When, v.Expire = at(d.Link.GetTime(), true), at(d.Link.GetExpireTime(), true)
		v.Address, v.Link = d.Link.GetClientAddress(), base+page+url.QueryEscape(d.Link.GetToken())
	case *notificationsv1.NotifyRequest_Verification:
		v.When = at(d.Verification.GetTime(), true)
		v.Outcome = strings.ToLower(strings.TrimPrefix(d.Verification.GetOutcome().String(), "VERIFICATION_OUTCOME_"))
		v.Reason, v.Link = d.Verification.GetReason(), base+verificationPage
	case *notificationsv1.NotifyRequest_Digest:
		v.Day, v.Reads, v.Link = brDate(d.Digest.GetDay()), d.Digest.GetReads(), base+accessLogPage
		for _, id := range d.Digest.GetDoctorIds() {
			name, err := s.contactName(ctx, id, true)
			if err != nil {
				return view{}, err
			}
			v.Doctors = append(v.Doctors, name)
		}
	}
	return v, nil
}

// contactName is another account's name as a message shows it: full or first. A
// deleted account is "—" rather than a failed message.
func (s *Service) contactName(ctx context.Context, id string, full bool) (string, error) {
	c, err := s.contact(ctx, id)
	if errs.Has(err, ReasonAccountNotFound) {
		return "—", nil
	}
	if err != nil {
		return "", err
	}
	if full {
		return c.GetFullName(), nil
	}
	return c.GetFirstName(), nil
}

// brDate writes YYYY-MM-DD as DD/MM/YYYY.
func brDate(day string) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return t.Format("02/01/2006")
}
