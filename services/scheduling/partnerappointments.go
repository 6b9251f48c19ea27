package scheduling

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// A partner clinic's system reads the agenda and the appointments of the doctors
// affiliated with its clinic, and answers appointments for those who delegated that
// to it. What it sees of an appointment is PartnerAppointment: times, state, answer
// deadline and the patient's first name — never the CPF, the reason for the visit,
// any health data or the payer's data. Every call checks the affiliation with the
// clinics service (partnerDoctor), whatever the edge already checked.

// admittedDoctor is the context key under which a partner call carries the doctor
// whose affiliation with the calling clinic, and delegation to it, were checked: it
// lets appointmentFor read that doctor's appointments for the clinic.
type admittedDoctor struct{}

// clinicAdmitted reports whether ctx is a partner call admitted to the doctor's
// appointments (answerForClinic, once the affiliation and delegation are checked).
func clinicAdmitted(ctx context.Context, doctorID string) bool {
	d, _ := ctx.Value(admittedDoctor{}).(string)
	return d != "" && d == doctorID
}

// partnerAgenda is an affiliated doctor's agenda; the appointments holding slots are
// named by id and state, without their patient.
func (s *Service) partnerAgenda(ctx context.Context, r *schedulingv1.GetDoctorAgendaRequest) (*schedulingv1.GetDoctorAgendaResponse, error) {
	if err := s.partnerDoctor(ctx, r.GetDoctorId()); err != nil {
		return nil, err
	}
	slots, zone, err := s.agendaOf(ctx, r.GetDoctorId(), r.GetStartTime().AsTime(), r.GetEndTime().AsTime())
	if err != nil {
		return nil, err
	}
	for _, sl := range slots {
		if sl.GetAppointment() != nil {
			sl.Appointment.PatientId = ""
		}
	}
	return &schedulingv1.GetDoctorAgendaResponse{Slots: slots, TimeZone: zone}, nil
}

// partnerSlotStatus blocks or reopens a slot of an affiliated doctor.
func (s *Service) partnerSlotStatus(ctx context.Context, doctorID, slotID, to string) (*schedulingv1.Slot, error) {
	if err := s.partnerDoctor(ctx, doctorID); err != nil {
		return nil, err
	}
	return s.setSlotStatusOf(ctx, doctorID, slotID, to)
}

// listForClinic pages through an affiliated doctor's appointments by (start, id).
func (s *Service) listForClinic(ctx context.Context, r *schedulingv1.ListDoctorAppointmentsRequest) (*schedulingv1.ListDoctorAppointmentsResponse, error) {
	if err := s.partnerDoctor(ctx, r.GetDoctorId()); err != nil {
		return nil, err
	}
	p, _ := authn.FromContext(ctx)
	list, next, err := s.appointmentPage(ctx, appointmentQuery{owner: r.GetDoctorId(), asDoctor: true,
		scope:  []string{p.ClinicID, r.GetDoctorId(), "clinic"},
		states: r.GetStates(), start: r.GetStartTime(), end: r.GetEndTime(), size: r.GetPageSize(), token: r.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &schedulingv1.ListDoctorAppointmentsResponse{NextPageToken: next}
	if out.Appointments, err = s.forClinic(ctx, list...); err != nil {
		return nil, err
	}
	return out, nil
}

// getForClinic is one appointment of an affiliated doctor.
func (s *Service) getForClinic(ctx context.Context, id string) (*schedulingv1.PartnerAppointment, error) {
	a, err := s.appointmentOfAnyDoctor(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.partnerDoctor(ctx, a.doctorID); err != nil {
		return nil, err
	}
	out, err := s.forClinic(ctx, a)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// appointmentOfAnyDoctor reads an appointment before the clinic's rights to its doctor
// are checked: the caller checks them before answering anything of it.
func (s *Service) appointmentOfAnyDoctor(ctx context.Context, id string) (appointment, error) {
	a, err := s.appointments.get(ctx, s.db, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return appointment{}, errAppointmentNotFound
	}
	if err != nil {
		return appointment{}, errs.Internal("scheduling: read an appointment for a clinic", err)
	}
	return a, nil
}

var errNotDelegated = ReasonNotDelegated.New("the doctor has not delegated answering appointments to your clinic")

// answerForClinic runs answer (confirm or refuse) on an appointment of a doctor who is
// affiliated with the calling clinic and delegated answering to it, with the clinic
// (and its client) as the actor. The affiliation is asked before the transaction (a
// call to the clinics service); the appointment's doctor is checked again under the
// lock.
func (s *Service) answerForClinic(ctx context.Context, op, id string, answer func(tx pgx.Tx, a *appointment, who actor) error) (*schedulingv1.PartnerAppointment, error) {
	a, err := s.appointmentOfAnyDoctor(ctx, id)
	if err != nil {
		return nil, err
	}
	p, _ := authn.FromContext(ctx)
	aff, err := s.affiliationNow(ctx, p.ClinicID, a.doctorID)
	switch {
	case err != nil:
		return nil, err
	case !aff.affiliated:
		return nil, errNotAffiliated
	case !aff.delegated:
		s.log.InfoContext(ctx, "partner refused: answering not delegated", slog.String("client_id", p.ClientID),
			slog.String("clinic_id", p.ClinicID), slog.String("doctor_id", a.doctorID))
		return nil, errNotDelegated
	}
	admitted := context.WithValue(ctx, admittedDoctor{}, a.doctorID)
	if err := s.checkVerified(ctx, a.doctorID); err != nil {
		return nil, err
	}
	clinic := actorOf(ctx)
	out, err := s.decideRow(admitted, op, id, func(row appointment, _ string) bool { return row.doctorID == a.doctorID },
		func(tx pgx.Tx, row *appointment) error { return answer(tx, row, clinic) })
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "partner answered an appointment", slog.String("client_id", p.ClientID),
		slog.String("clinic_id", p.ClinicID), slog.String("appointment_id", id), slog.String("state", out.state))
	list, err := s.forClinic(ctx, out)
	if err != nil {
		return nil, err
	}
	return list[0], nil
}

// acceptForClinic confirms an appointment for its doctor.
func (s *Service) acceptForClinic(ctx context.Context, id string) (*schedulingv1.PartnerAppointment, error) {
	return s.answerForClinic(ctx, "accept appointment for a clinic", id, func(tx pgx.Tx, a *appointment, who actor) error {
		return s.confirm(ctx, tx, a, who)
	})
}

// refuseForClinic refuses an appointment for its doctor; the reason is sealed before
// the transaction, as the doctor's own is.
func (s *Service) refuseForClinic(ctx context.Context, id, reason string) (*schedulingv1.PartnerAppointment, error) {
	why, err := s.sealNote(ctx, id, "refused", reason)
	if err != nil {
		return nil, errs.Internal("scheduling: refuse appointment for a clinic: seal the reason", err)
	}
	return s.answerForClinic(ctx, "refuse appointment for a clinic", id, func(tx pgx.Tx, a *appointment, who actor) error {
		return s.refuseAwaiting(ctx, tx, a, who, why)
	})
}

// forClinic is what a clinic sees of appointments: the patients' first names come from
// identity, in one call for the lot.
func (s *Service) forClinic(ctx context.Context, list ...appointment) ([]*schedulingv1.PartnerAppointment, error) {
	if len(list) == 0 {
		return nil, nil
	}
	var ids []string
	for _, a := range list {
		if !slices.Contains(ids, a.patientID) {
			ids = append(ids, a.patientID)
		}
	}
	if s.identity == nil {
		return nil, ReasonIdentityUnavailable.New("identity cannot be reached for the patients' names; retry")
	}
	names, err := s.identity.GetFirstNames(ctx, connect.NewRequest(&identityv1.GetFirstNamesRequest{AccountIds: ids}))
	if err != nil {
		return nil, ReasonIdentityUnavailable.New("identity cannot be reached for the patients' names; retry").WithCause(err)
	}
	out := make([]*schedulingv1.PartnerAppointment, len(list))
	for i, a := range list {
		out[i] = &schedulingv1.PartnerAppointment{
			Id: a.id, SlotId: a.slotID, DoctorId: a.doctorID,
			StartTime: timestamppb.New(a.start), EndTime: timestamppb.New(a.end), State: stateProto(a.state),
			PatientFirstName: names.Msg.GetFirstNames()[a.patientID],
			CreateTime:       timestamppb.New(a.created), UpdateTime: timestamppb.New(a.updated),
		}
		if a.state == stateAwaiting {
			out[i].AnswerDeadline = optTime(a.answerBy)
		}
	}
	return out, nil
}
