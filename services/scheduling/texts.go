package scheduling

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// What patients and doctors write — the appointment's reason ("dor no peito…"), a
// cancellation's justification, a refusal's reason — is health data. It is sealed with
// envelope encryption before it is stored (always before a transaction opens: sealing
// may call the keys service, and pg.InTx may rerun its function), and opened only for
// the appointment's own patient and doctor, reading through the public API. Other
// services get these texts empty; nothing of them is logged.
//
// The encryption contexts name the field, never a person or an appointment (the
// envelope keeps one data key per context); the appointment — and for a history event
// its kind — is bound to each sealed value as associated data, so a value copied into
// another row does not open.
var (
	reasonContext      = map[string]string{"service": "scheduling", "field": "appointments.reason"}
	eventReasonContext = map[string]string{"service": "scheduling", "field": "appointment_history.reason"}
)

func eventAAD(appointmentID, kind string) []byte { return []byte(appointmentID + "\x00" + kind) }

// sealReason seals an appointment's reason (nil for none).
func (s *Service) sealReason(ctx context.Context, appointmentID, text string) ([]byte, error) {
	if text == "" {
		return nil, nil
	}
	return s.env.Seal(ctx, []byte(text), reasonContext, []byte(appointmentID))
}

// sealNote seals what a patient or doctor wrote for an event of an appointment.
func (s *Service) sealNote(ctx context.Context, appointmentID, kind, text string) (note, error) {
	if text == "" {
		return note{}, nil
	}
	sealed, err := s.env.Seal(ctx, []byte(text), eventReasonContext, eventAAD(appointmentID, kind))
	return note{sealed: sealed}, err
}

// ownReader reports whether the caller is the appointment's patient or doctor, the
// only ones its texts are opened for.
func ownReader(ctx context.Context, a appointment) bool {
	p, _ := authn.FromContext(ctx)
	switch p.Role {
	case accessv1.Role_ROLE_PATIENT, accessv1.Role_ROLE_DOCTOR:
		return p.UserID == a.patientID || p.UserID == a.doctorID
	}
	return false
}

// openReason fills in a's reason, for its patient or doctor. A sealed value that does
// not open (altered, or moved from another row) is Internal: no text is answered.
func (s *Service) openReason(ctx context.Context, a *appointment) error {
	if a.sealedReason == nil {
		a.reason = a.legacyReason
		return nil
	}
	text, err := s.env.Open(ctx, a.sealedReason, reasonContext, []byte(a.id))
	if err != nil {
		return errs.Internal("scheduling: open the appointment's reason", err)
	}
	a.reason = string(text)
	return nil
}

// openEvents fills in the reasons of an appointment's history events, for its patient
// or doctor.
func (s *Service) openEvents(ctx context.Context, appointmentID string, events []storedEvent) error {
	for _, e := range events {
		if e.sealed == nil {
			continue
		}
		text, err := s.env.Open(ctx, e.sealed, eventReasonContext, eventAAD(appointmentID, e.GetKind()))
		if err != nil {
			return errs.Internal("scheduling: open the reason of a history event", err)
		}
		e.Reason = string(text)
	}
	return nil
}

// sealTextsArgs seals the texts still stored in clear: those written before texts were
// sealed, and those a replica of an older version writes during a rolling deploy. It is
// a River periodic job, run every sealEvery and when a replica becomes the leader, by
// the elected leader only. Once everything is sealed a run finds nothing, cheaply (a
// partial index holds only the rows in clear).
type sealTextsArgs struct{}

func (sealTextsArgs) Kind() string { return "scheduling.seal_texts" }

const (
	sealEvery = time.Hour
	sealBatch = 100
)

func (s *Service) sealTextsJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(sealEvery),
		func() (river.JobArgs, *river.InsertOpts) { return sealTextsArgs{}, nil },
		&river.PeriodicJobOpts{ID: sealTextsArgs{}.Kind(), RunOnStart: true})
}

// sealTexts seals, a batch at a time, every reason still in clear, and returns how
// many it sealed. Each text is sealed before its row is written, and the row's sealed
// value is set and its text cleared in one statement, so a run cut short leaves every
// row either in clear or sealed, and the next run goes on.
func (s *Service) sealTexts(ctx context.Context) (int, error) {
	n := 0
	for after := ""; ; {
		batch, err := s.appointments.plainReasons(ctx, s.db, after, sealBatch)
		if err != nil {
			return n, err
		}
		if len(batch) == 0 {
			break
		}
		for _, p := range batch {
			sealed, err := s.sealReason(ctx, p.appointmentID, p.text)
			if err != nil {
				return n, err
			}
			done, err := s.appointments.sealReason(ctx, s.db, p, sealed)
			if err != nil {
				return n, err
			}
			if done {
				n++
			}
		}
		after = batch[len(batch)-1].appointmentID
	}
	for after := int64(0); ; {
		batch, err := s.appointments.plainEventReasons(ctx, s.db, after, sealBatch)
		if err != nil || len(batch) == 0 {
			return n, err
		}
		for _, p := range batch {
			why, err := s.sealNote(ctx, p.appointmentID, p.kind, p.text)
			if err != nil {
				return n, err
			}
			done, err := s.appointments.sealEventReason(ctx, s.db, p, why.sealed)
			if err != nil {
				return n, err
			}
			if done {
				n++
			}
		}
		after = batch[len(batch)-1].event
	}
}
