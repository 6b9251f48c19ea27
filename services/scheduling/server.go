package scheduling

import (
	"context"

	"connectrpc.com/connect"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// SetAvailability implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) SetAvailability(ctx context.Context, req *connect.Request[schedulingv1.SetAvailabilityRequest]) (*connect.Response[schedulingv1.SetAvailabilityResponse], error) {
	out, err := s.setAvailability(ctx, req.Msg.GetAvailability())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetAvailability implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetAvailability(ctx context.Context, _ *connect.Request[schedulingv1.GetAvailabilityRequest]) (*connect.Response[schedulingv1.GetAvailabilityResponse], error) {
	p, _ := authn.FromContext(ctx)
	out, err := s.getAvailability(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ListAvailableSlots implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ListAvailableSlots(ctx context.Context, req *connect.Request[schedulingv1.ListAvailableSlotsRequest]) (*connect.Response[schedulingv1.ListAvailableSlotsResponse], error) {
	out, err := s.availableSlots(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetMyAgenda implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetMyAgenda(ctx context.Context, req *connect.Request[schedulingv1.GetMyAgendaRequest]) (*connect.Response[schedulingv1.GetMyAgendaResponse], error) {
	out, err := s.agenda(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// BlockSlot implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) BlockSlot(ctx context.Context, req *connect.Request[schedulingv1.BlockSlotRequest]) (*connect.Response[schedulingv1.BlockSlotResponse], error) {
	slot, err := s.setSlotStatus(ctx, req.Msg.GetSlotId(), "blocked")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.BlockSlotResponse{Slot: slot}), nil
}

// ReopenSlot implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ReopenSlot(ctx context.Context, req *connect.Request[schedulingv1.ReopenSlotRequest]) (*connect.Response[schedulingv1.ReopenSlotResponse], error) {
	slot, err := s.setSlotStatus(ctx, req.Msg.GetSlotId(), "open")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.ReopenSlotResponse{Slot: slot}), nil
}

// BookAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) BookAppointment(ctx context.Context, req *connect.Request[schedulingv1.BookAppointmentRequest]) (*connect.Response[schedulingv1.BookAppointmentResponse], error) {
	out, err := s.book(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetAppointment(ctx context.Context, req *connect.Request[schedulingv1.GetAppointmentRequest]) (*connect.Response[schedulingv1.GetAppointmentResponse], error) {
	a, err := s.getAppointment(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.GetAppointmentResponse{Appointment: a}), nil
}

// ListMyAppointments implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ListMyAppointments(ctx context.Context, req *connect.Request[schedulingv1.ListMyAppointmentsRequest]) (*connect.Response[schedulingv1.ListMyAppointmentsResponse], error) {
	out, err := s.listMine(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// AcceptAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) AcceptAppointment(ctx context.Context, req *connect.Request[schedulingv1.AcceptAppointmentRequest]) (*connect.Response[schedulingv1.AcceptAppointmentResponse], error) {
	a, err := s.accept(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.AcceptAppointmentResponse{Appointment: a}), nil
}

// RefuseAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) RefuseAppointment(ctx context.Context, req *connect.Request[schedulingv1.RefuseAppointmentRequest]) (*connect.Response[schedulingv1.RefuseAppointmentResponse], error) {
	a, err := s.refuseByDoctor(ctx, req.Msg.GetId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.RefuseAppointmentResponse{Appointment: a}), nil
}

// CancelAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) CancelAppointment(ctx context.Context, req *connect.Request[schedulingv1.CancelAppointmentRequest]) (*connect.Response[schedulingv1.CancelAppointmentResponse], error) {
	a, err := s.cancel(ctx, req.Msg.GetId(), req.Msg.GetJustification())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.CancelAppointmentResponse{Appointment: a}), nil
}

// ApplyPaymentOutcome implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ApplyPaymentOutcome(ctx context.Context, req *connect.Request[schedulingv1.ApplyPaymentOutcomeRequest]) (*connect.Response[schedulingv1.ApplyPaymentOutcomeResponse], error) {
	out, err := s.applyPaymentOutcome(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// RecordJoin implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) RecordJoin(ctx context.Context, req *connect.Request[schedulingv1.RecordJoinRequest]) (*connect.Response[schedulingv1.RecordJoinResponse], error) {
	if err := s.recordJoin(ctx, req.Msg.GetAppointmentId(), req.Msg.GetUserId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.RecordJoinResponse{}), nil
}

// FinishAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) FinishAppointment(ctx context.Context, req *connect.Request[schedulingv1.FinishAppointmentRequest]) (*connect.Response[schedulingv1.FinishAppointmentResponse], error) {
	a, err := s.finish(ctx, req.Msg.GetAppointmentId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.FinishAppointmentResponse{Appointment: a}), nil
}

// SuspendDoctor implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) SuspendDoctor(ctx context.Context, req *connect.Request[schedulingv1.SuspendDoctorRequest]) (*connect.Response[schedulingv1.SuspendDoctorResponse], error) {
	n, err := s.suspendDoctor(ctx, req.Msg.GetDoctorId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.SuspendDoctorResponse{RefusedCount: int32(n)}), nil
}

// ExportPatientAppointments implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ExportPatientAppointments(ctx context.Context, req *connect.Request[schedulingv1.ExportPatientAppointmentsRequest]) (*connect.Response[schedulingv1.ExportPatientAppointmentsResponse], error) {
	list, err := s.exportPatientAppointments(ctx, req.Msg.GetPatientId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.ExportPatientAppointmentsResponse{Appointments: list}), nil
}

// GetDoctorAvailability implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetDoctorAvailability(ctx context.Context, req *connect.Request[schedulingv1.GetDoctorAvailabilityRequest]) (*connect.Response[schedulingv1.GetDoctorAvailabilityResponse], error) {
	out, err := s.doctorAvailabilityForPartner(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// SetDoctorAvailability implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) SetDoctorAvailability(ctx context.Context, req *connect.Request[schedulingv1.SetDoctorAvailabilityRequest]) (*connect.Response[schedulingv1.SetDoctorAvailabilityResponse], error) {
	out, err := s.setDoctorAvailabilityForPartner(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetDoctorAgenda implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetDoctorAgenda(ctx context.Context, req *connect.Request[schedulingv1.GetDoctorAgendaRequest]) (*connect.Response[schedulingv1.GetDoctorAgendaResponse], error) {
	out, err := s.partnerAgenda(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// BlockDoctorSlot implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) BlockDoctorSlot(ctx context.Context, req *connect.Request[schedulingv1.BlockDoctorSlotRequest]) (*connect.Response[schedulingv1.BlockDoctorSlotResponse], error) {
	slot, err := s.partnerSlotStatus(ctx, req.Msg.GetDoctorId(), req.Msg.GetSlotId(), "blocked")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.BlockDoctorSlotResponse{Slot: slot}), nil
}

// ReopenDoctorSlot implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ReopenDoctorSlot(ctx context.Context, req *connect.Request[schedulingv1.ReopenDoctorSlotRequest]) (*connect.Response[schedulingv1.ReopenDoctorSlotResponse], error) {
	slot, err := s.partnerSlotStatus(ctx, req.Msg.GetDoctorId(), req.Msg.GetSlotId(), "open")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.ReopenDoctorSlotResponse{Slot: slot}), nil
}

// ListDoctorAppointments implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ListDoctorAppointments(ctx context.Context, req *connect.Request[schedulingv1.ListDoctorAppointmentsRequest]) (*connect.Response[schedulingv1.ListDoctorAppointmentsResponse], error) {
	out, err := s.listForClinic(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetDoctorAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetDoctorAppointment(ctx context.Context, req *connect.Request[schedulingv1.GetDoctorAppointmentRequest]) (*connect.Response[schedulingv1.GetDoctorAppointmentResponse], error) {
	a, err := s.getForClinic(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.GetDoctorAppointmentResponse{Appointment: a}), nil
}

// AcceptDoctorAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) AcceptDoctorAppointment(ctx context.Context, req *connect.Request[schedulingv1.AcceptDoctorAppointmentRequest]) (*connect.Response[schedulingv1.AcceptDoctorAppointmentResponse], error) {
	a, err := s.acceptForClinic(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.AcceptDoctorAppointmentResponse{Appointment: a}), nil
}

// RefuseDoctorAppointment implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) RefuseDoctorAppointment(ctx context.Context, req *connect.Request[schedulingv1.RefuseDoctorAppointmentRequest]) (*connect.Response[schedulingv1.RefuseDoctorAppointmentResponse], error) {
	a, err := s.refuseForClinic(ctx, req.Msg.GetId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.RefuseDoctorAppointmentResponse{Appointment: a}), nil
}
