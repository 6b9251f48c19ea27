package scheduling

import (
	"context"
	"time"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
)

// exportPage is how many appointments one query of an export reads.
const exportPage = 500

// exportPatientAppointments is ExportPatientAppointments: every appointment of the
// patient, oldest first, each with its history and the texts people wrote opened —
// the patient's own data, asked for by identity on the patient's behalf (LGPD art. 18).
func (s *Service) exportPatientAppointments(ctx context.Context, patientID string) ([]*schedulingv1.Appointment, error) {
	var out []*schedulingv1.Appointment
	f := appointmentFilter{userID: patientID, limit: exportPage}
	for {
		list, err := s.appointments.list(ctx, s.db, f)
		if err != nil {
			return nil, errs.Internal("scheduling: export appointments", err)
		}
		for _, a := range list {
			events, err := s.appointments.history(ctx, s.db, a.id)
			if err != nil {
				return nil, errs.Internal("scheduling: export appointments: read history", err)
			}
			if err := s.openReason(ctx, &a); err != nil {
				return nil, err
			}
			if err := s.openEvents(ctx, a.id, events); err != nil {
				return nil, err
			}
			p := a.proto()
			for _, e := range events {
				p.History = append(p.History, e.AppointmentEvent)
			}
			out = append(out, p)
		}
		if len(list) < exportPage {
			return out, nil
		}
		last := list[len(list)-1]
		f.after, f.afterID = new(time.Time), new(string)
		*f.after, *f.afterID = last.start, last.id
	}
}
